// Jest globalSetup: build (or find) the pinned binaries up front, so a cold Go
// build (several minutes) is not charged to the first test's timeout.
// Plain JS on purpose: jest loads globalSetup through Node's own ESM loader,
// where moduleNameMapper does not apply, so it cannot import ./cluster.js (TS).
// cluster.ts's ensureBinaries() runs the same script again, then instantly.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function globalSetup() {
  const script = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));
  const t = Date.now();
  const r = spawnSync('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status ?? r.signal})`);
  process.stderr.write(`e2e binaries ready in ${((Date.now() - t) / 1000).toFixed(1)}s\n`);
}
