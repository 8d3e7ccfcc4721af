// Jest globalSetup: build (or find) the Istio oracle before any test timeout starts ticking (cold: ~10-15 min),
// and hand its path to the tests. Plain JS: jest loads globalSetup through Node's own ESM loader.
// ISTIO_ORACLE_BIN set by the caller wins (a binary built elsewhere).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function globalSetup() {
  if (process.env.ISTIO_ORACLE_BIN) return;
  const script = fileURLToPath(new URL('../istio/build-oracle.sh', import.meta.url));
  const t = Date.now();
  const r = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status ?? r.signal})`);
  process.env.ISTIO_ORACLE_BIN = r.stdout.trim().split('\n').pop();
  process.stderr.write(`Istio oracle ready in ${((Date.now() - t) / 1000).toFixed(1)}s\n`);
}
