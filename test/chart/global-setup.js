// Jest globalSetup: build (or find) the pinned chart tools and the e2e binaries (kube-apiserver for the
// schemas and the install tests, kubectl for kustomize) up front, so a cold Go build is not charged to a test.
// Plain JS: jest loads globalSetup through Node's own ESM loader, where moduleNameMapper does not apply.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function globalSetup() {
  for (const script of ['../tools/build-tools.sh', '../e2e/build-binaries.sh']) {
    const path = fileURLToPath(new URL(script, import.meta.url));
    const t = Date.now();
    const r = spawnSync('bash', [path], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`${path} failed (exit ${r.status ?? r.signal})`);
    process.stderr.write(`${script}: ready in ${((Date.now() - t) / 1000).toFixed(1)}s\n`);
  }
}
