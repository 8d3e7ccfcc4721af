// `npm run bench:instructions`: the same comparison as `npm run bench`, egress-guard as deployed against the bare
// fastify floor, counted in CPU instructions instead of seconds. Both servers run under valgrind's callgrind, which
// counts every instruction a process executes (all its threads, JIT code and garbage collection included): the
// floor's count repeats to 0.2%, while req/s ratios on a shared 2-core machine move by 0.1 from one round to the
// next. Not entirely free of the machine's load: how many requests one event-loop turn handles depends on timing,
// and egress-guard counted about 6% more on a 9 KB pod with a second callgrind run beside it; run it alone.
// egress-guard's own count moves more from run to run (garbage collection and recompilation land in some runs and
// not others), hence several runs and their median. Instructions are not time (cache misses cost nothing here, and
// neither does the kernel's side of a system call), so this complements the timed bench rather than replacing it.
//
// Each payload: WARMUP requests so the JIT settles (counting starts off), then REPEATS counted runs of REQUESTS
// requests each, with instrumentation switched on through callgrind_control around each run. Environment:
// INSTR_WARMUP (default 20000), INSTR_REQUESTS (3000), INSTR_REPEATS (5), BENCH_PAYLOADS (comma-separated ids).
// INSTR_BY_FUNCTION=1 also prints, per payload, the functions where egress-guard spends the most more than the floor
// in the run with the median count (attribution.ts); it slows valgrind down further.
// Needs valgrind (Debian package valgrind); reports and exits 0 without it.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ATTRIBUTION_NODE_OPTIONS,
  ATTRIBUTION_VALGRIND_OPTIONS,
  instructionsByFunction,
  largestDifferences,
  perfMapFile,
} from './attribution.js';
import { load, median } from './load.js';
import { payloads, type Payload } from './payloads.js';
import { freePort, spawnCommand, waitFor200, waitForLine, type Child } from './processes.js';
import { prepareServers } from './servers.js';

const env = process.env;
const count = (name: string, fallback: number) => (Number(env[name]) > 0 ? Math.round(Number(env[name])) : fallback);
const WARMUP = count('INSTR_WARMUP', 20_000);
const REQUESTS = count('INSTR_REQUESTS', 3000);
const REPEATS = count('INSTR_REPEATS', 5);
const ONLY = env.BENCH_PAYLOADS?.split(',')
  .map((id) => id.trim())
  .filter(Boolean);
const BY_FUNCTION = env.INSTR_BY_FUNCTION === '1';
/** How many functions INSTR_BY_FUNCTION lists per payload. */
const FUNCTIONS_LISTED = 25;
/** valgrind is slow to start node (a minute on 2 cores) and each request is ~50x slower than natively. */
const STARTUP_TIMEOUT_MS = 300_000;
const CONNECTIONS = 10;

const here = fileURLToPath(new URL('.', import.meta.url));
const MAIN = join(here, '../../src/main.js');
const BASELINE = join(here, 'baseline.js');
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Counted {
  server: Child;
  url: string;
  /** callgrind_control finds the process by pid, user and the HOST variable the process was started with. */
  host: string;
  dumps: string;
}

function callgrindControl(target: Counted, ...args: string[]): void {
  const result = spawnSync('callgrind_control', [...args, String(target.server.pid)], {
    env: { ...process.env, HOST: target.host },
    encoding: 'utf8',
  });
  if (result.status !== 0)
    throw new Error(`callgrind_control ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
}

interface CountedRun {
  /** Instructions the server executed per review. */
  perReview: number;
  /** The callgrind dump that holds the run. */
  dump: string;
}

/** Instructions the server executed per review, over `REQUESTS` reviews. */
async function instructionsPerReview(target: Counted, payload: Payload, run: number): Promise<CountedRun> {
  callgrindControl(target, '--zero');
  callgrindControl(target, '--instr=on');
  const result = await load({
    url: target.url + payload.path,
    body: payload.body,
    connections: CONNECTIONS,
    seconds: 3600,
    amount: REQUESTS,
  });
  callgrindControl(target, '--instr=off');
  if (result.failures > 0) throw new Error(`${result.failures} failed requests to ${target.url}`);
  const label = `${payload.id}-${run}`;
  callgrindControl(target, `--dump=${label}`);
  const { totals, dump } = await dumpTotals(target, label);
  return { perReview: totals / result.ok, dump };
}

/** The `totals:` line of the dump made with trigger `label`; callgrind writes dumps as cg.<pid>.<n>. */
async function dumpTotals(target: Counted, label: string): Promise<{ totals: number; dump: string }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const name of await readdir(target.dumps)) {
      if (!name.startsWith(`cg.${target.server.pid}.`)) continue;
      const text = await readFile(join(target.dumps, name), 'utf8');
      if (!text.includes(`\ndesc: Trigger: dump ${label}\n`)) continue;
      const totals = /^totals: (\d+)$/m.exec(text)?.[1];
      if (totals !== undefined) return { totals: Number(totals), dump: join(target.dumps, name) };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no callgrind dump "${label}" from pid ${target.server.pid} in ${target.dumps}`);
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    log('valgrind is not installed (Debian: apt-get install valgrind); nothing measured');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'egress-guard-instructions-'));
  const { tlsEnv, egressEnv } = await prepareServers(dir);
  const callgrind = [
    'valgrind',
    '--tool=callgrind',
    '--smc-check=all-non-file',
    '--instr-atstart=no',
    `--callgrind-out-file=${join(dir, 'cg.%p')}`,
    '-q',
    ...(BY_FUNCTION ? ATTRIBUTION_VALGRIND_OPTIONS : []),
    process.execPath,
    ...(BY_FUNCTION ? ATTRIBUTION_NODE_OPTIONS : []),
  ];
  // Fresh servers for every payload, as in run.ts: what V8 compiled for one payload stays with the process and
  // moved the next payload's count (a ServiceEntry after the pod payloads: 246k; in a fresh process: 221k).
  const started: Child[] = [];
  const startServers = async () => {
    const egressSettings = await egressEnv();
    const basePort = await freePort();
    const egress = spawnCommand([...callgrind, MAIN], egressSettings, 'ignore');
    const baseline = spawnCommand([...callgrind, BASELINE], { ...tlsEnv, PORT: String(basePort) }, 'pipe');
    started.push(egress, baseline);
    await Promise.all([
      waitFor200(`http://127.0.0.1:${egressSettings.OPS_PORT}/readyz`, performance.now(), egress, STARTUP_TIMEOUT_MS),
      waitForLine(baseline, 'listening', STARTUP_TIMEOUT_MS),
    ]);
    const host = tlsEnv.HOST ?? '';
    return {
      egressGuard: { server: egress, url: `https://127.0.0.1:${egressSettings.PORT}`, host, dumps: dir },
      baseline: { server: baseline, url: `https://127.0.0.1:${basePort}`, host, dumps: dir },
    };
  };
  try {
    log(
      `instructions per review under callgrind: ${WARMUP} warm-up requests, then ${REPEATS} x ${REQUESTS} counted, ${CONNECTIONS} connections`,
    );
    const results: Record<
      string,
      { egressGuard: number; baseline: number; ratio: number; runs: { egressGuard: number[]; baseline: number[] } }
    > = {};
    for (const payload of payloads().filter((p) => !ONLY || ONLY.includes(p.id))) {
      const targets = await startServers();
      const runs = { egressGuard: [] as number[], baseline: [] as number[] };
      const dumps = { egressGuard: [] as string[], baseline: [] as string[] };
      for (const [name, target] of Object.entries(targets) as [keyof typeof runs, Counted][]) {
        await load({
          url: target.url + payload.path,
          body: payload.body,
          connections: CONNECTIONS,
          seconds: 3600,
          amount: WARMUP,
        });
        for (let run = 0; run < REPEATS; run++) {
          const counted = await instructionsPerReview(target, payload, run);
          runs[name].push(Math.round(counted.perReview));
          dumps[name].push(counted.dump);
        }
      }
      const figures = { egressGuard: median(runs.egressGuard), baseline: median(runs.baseline) };
      results[payload.id] = {
        ...figures,
        ratio: Math.round((figures.baseline / figures.egressGuard) * 1000) / 1000,
        runs,
      };
      log(
        `${payload.id.padEnd(12)} egress-guard ${figures.egressGuard.toLocaleString('en')} (runs ${runs.egressGuard.join(', ')}), ` +
          `baseline ${figures.baseline.toLocaleString('en')} (runs ${runs.baseline.join(', ')}): ratio ${results[payload.id]?.ratio}`,
      );
      if (BY_FUNCTION) {
        // The run whose count is the median (the nearest one, for an even number of runs) on each server.
        const medianRun = (name: keyof typeof runs) => {
          const counts = runs[name];
          const nearest = counts.reduce(
            (best, count, index) =>
              Math.abs(count - figures[name]) < Math.abs((counts[best] ?? 0) - figures[name]) ? index : best,
            0,
          );
          return instructionsByFunction(
            dumps[name][nearest] as string,
            perfMapFile(targets[name].server.pid),
            REQUESTS,
          );
        };
        for (const line of largestDifferences(medianRun('egressGuard'), medianRun('baseline'), FUNCTIONS_LISTED))
          log(`  ${line}`);
      }
      await Promise.all([targets.egressGuard.server.stop(), targets.baseline.server.stop()]);
    }
    log('ratio = baseline instructions per review / egress-guard instructions per review (1 = as cheap as the floor)');
    log(
      JSON.stringify({
        date: new Date().toISOString(),
        warmup: WARMUP,
        requests: REQUESTS,
        repeats: REPEATS,
        payloads: results,
      }),
    );
  } finally {
    await Promise.all(started.map((child) => child.stop()));
    await rm(dir, { recursive: true, force: true });
    if (BY_FUNCTION) await Promise.all(started.map((child) => rm(perfMapFile(child.pid), { force: true })));
  }
}

await main();
