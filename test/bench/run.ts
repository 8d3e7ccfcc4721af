// `npm run bench`: egress-guard as deployed (dist/src/main.js, real HTTPS, logging on) against the floor of a bare
// fastify HTTPS server (baseline.ts), side by side; then a fixed 1,000 reviews/s run against both, startup-to-ready time, and
// the cluster-wide index at 1,000 vs 100,000 ServiceEntries. Numbers are reported, never judged: exit 0 unless
// something crashed. The last line printed is one JSON object with every figure.
//
// Environment: BENCH_SECONDS (per round and server, default 4), BENCH_ROUNDS (5), BENCH_CONNECTIONS (10),
// BENCH_WARMUP_SECONDS (5; each payload's servers start fresh), BENCH_RATE_SECONDS (10), BENCH_PAYLOADS (comma-separated ids, default all),
// BENCH_PROFILE=1 (run both servers under --cpu-prof and print their self-time summaries; BENCH_PROFILE_DIR=DIR
// keeps the profiles there as egress-guard.<payload>.cpuprofile and baseline.<payload>.cpuprofile),
// BENCH_SKIP_INDEX=1 (skip the in-process index part), BENCH_CALIBRATE_US=N (also run the floor burning N us of
// CPU per review, in the same rounds: the ratio that N us of extra work per review comes out as on this machine),
// BENCH_SHARED_SERVERS=1 (one pair of servers for all payloads, in turn, instead of fresh ones for each),
// BENCH_PIN=0 (leave the processes where the kernel puts them; by default the servers run on the last CPU and the
// load generator on the others, see pinServersApart), BENCH_INTERLEAVED_CYCLES (40) and BENCH_PHASE_MS (250): the
// interleaved measurement after each payload's rounds (interleaved.ts), 0 cycles to skip it. BENCH_PERF=1 samples
// the servers' CPU with `perf record` during the interleaved run and lists, per payload, the functions where
// egress-guard spends the most more time per review than the floor (perf-samples.ts; needs perf).
// BENCH_COMPARE=name=DIR[,name=DIR...] adds other egress-guard builds (DIR/dist/src/main.js, e.g. this tree with one
// change reverted) to every payload's interleaved run: what a change is worth, as a ratio to the same floor.
import { cpus, loadavg } from 'node:os';
import { copyFile, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarise } from './cpuprofile-summary.js';
import { measureIndexCost, type IndexCostResult } from './index-cost.js';
import { measureFixedRate } from './fixed-rate.js';
import { concat, load, median, percentile, round, type LoadResult } from './load.js';
import { payloads, type Payload } from './payloads.js';
import { measureInterleaved, type InterleavedFigures } from './interleaved.js';
import { largestDifferences, perfMapFile } from './attribution.js';
import {
  perfAvailable,
  perfNodeOptions,
  PERF_FREQUENCY_HZ,
  recordCpus,
  timePerReview,
  type PerfRecording,
} from './perf-samples.js';
import {
  freePort,
  memoryOf,
  pinServersApart,
  spawnNode,
  spawnServer,
  unpinThisProcess,
  waitFor200,
  waitForLine,
  type Child,
} from './processes.js';
import { prepareServers } from './servers.js';

const env = process.env;
const number = (name: string, fallback: number) => {
  const value = Number(env[name]);
  return env[name] !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
};
const SECONDS = number('BENCH_SECONDS', 4);
const ROUNDS = number('BENCH_ROUNDS', 5);
const CONNECTIONS = number('BENCH_CONNECTIONS', 10);
const WARMUP_SECONDS = number('BENCH_WARMUP_SECONDS', 5);
const RATE = 1_000;
const RATE_SECONDS = number('BENCH_RATE_SECONDS', 10);
const STARTUP_SAMPLES = 3;
const PROFILE = env.BENCH_PROFILE === '1';
const PERF = env.BENCH_PERF === '1';
/** How many functions BENCH_PERF lists per payload. */
const PERF_FUNCTIONS_LISTED = 25;
const SKIP_INDEX = env.BENCH_SKIP_INDEX === '1';
const CALIBRATE_US = number('BENCH_CALIBRATE_US', 0);
const SHARED_SERVERS = env.BENCH_SHARED_SERVERS === '1';
const PIN = env.BENCH_PIN !== '0';
const INTERLEAVED_CYCLES = env.BENCH_INTERLEAVED_CYCLES === '0' ? 0 : number('BENCH_INTERLEAVED_CYCLES', 40);
const PHASE_MS = number('BENCH_PHASE_MS', 250);
const COMPARE = (env.BENCH_COMPARE ?? '')
  .split(',')
  .map((entry) => entry.trim().split('='))
  .filter((pair): pair is [string, string] => pair.length === 2 && pair[0] !== '' && pair[1] !== '')
  .map(([name, dir]) => ({ name, main: join(dir, 'dist/src/main.js') }));
const ONLY = env.BENCH_PAYLOADS?.split(',')
  .map((id) => id.trim())
  .filter(Boolean);

const LOAD_AT_START = loadavg().map((value) => Math.round(value * 100) / 100);
const here = fileURLToPath(new URL('.', import.meta.url));
const MAIN = join(here, '../../src/main.js');
const BASELINE = join(here, 'baseline.js');
const INDEX_MEMORY = join(here, 'index-memory.js');

interface ServerFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU the server process used while loaded, in cores. */
  cores: number;
  /** Server CPU time per answered review (all its threads), in microseconds. */
  cpuUsPerReview: number;
  failures: number;
}

interface PayloadFigures {
  bytes: number;
  egressGuard: ServerFigures;
  baseline: ServerFigures;
  /** Median over rounds of egress-guard req/s / baseline req/s. */
  ratio: number;
  ratios: number[];
  /**
   * Median over rounds of baseline CPU per review / egress-guard CPU per review: the same comparison, less
   * sensitive to other processes taking CPU from a server that should have been saturated.
   */
  cpuRatio: number;
  /** With BENCH_CALIBRATE_US: the floor burning that much CPU per review, and its median ratio to the floor. */
  calibration?: { extraCpuUs: number; figures: ServerFigures; ratio: number };
  /** egress-guard's VmRSS after this payload's rounds. */
  egressGuardRssBytes: number;
  loadGeneratorCores: number;
  /** The same servers under interleaved keep-alive load (interleaved.ts): throughput and CPU per review pooled over all phases. */
  interleaved?: {
    ratio: number;
    cpuRatio: number;
    /** Floor's over egress-guard's CPU per review counted over the whole run, not only each server's own phases. */
    wholeRunCpuRatio: number;
    egressGuard: InterleavedFigures;
    baseline: InterleavedFigures;
    calibrated?: InterleavedFigures & { ratio: number };
    compared?: Record<string, InterleavedFigures & { ratio: number }>;
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'egress-guard-bench-'));
  try {
    await bench(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  log(`(bench took ${Math.round((performance.now() - started) / 1000)} s)`);
}

async function bench(dir: string): Promise<void> {
  const { caCertPem, tlsEnv, egressEnv } = await prepareServers(dir);
  const placement = PIN ? pinServersApart() : undefined;

  log(
    `egress-guard bench: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${LOAD_AT_START.join(' ')}`,
  );
  log(
    `load: ${ROUNDS} rounds x ${SECONDS} s per server and payload, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up, HTTPS on 127.0.0.1`,
  );
  log(
    placement
      ? `throughput runs: servers on CPU ${placement.serverCpus}, load generator on CPU ${placement.clientCpus} (BENCH_PIN=0 to leave them unpinned)`
      : 'processes not pinned to CPUs',
  );
  if (INTERLEAVED_CYCLES > 0)
    log(
      `interleaved: ${INTERLEAVED_CYCLES} cycles of ${PHASE_MS} ms on each server, keep-alive, ${CONNECTIONS} connections`,
    );
  const sampling = PERF ? samplingIn(dir, placement?.serverCpus) : undefined;

  // Startup to ready, without a cluster: spawn -> first 200 from /readyz.
  const startupMs: number[] = [];
  for (let i = 0; i < STARTUP_SAMPLES; i++) {
    const settings = await egressEnv();
    const since = performance.now();
    const child = spawnNode(MAIN, settings, 'ignore');
    try {
      startupMs.push(await waitFor200(`http://127.0.0.1:${settings.OPS_PORT}/readyz`, since, child));
    } finally {
      await child.stop();
    }
  }
  log(
    `startup to ready: ${startupMs.map((ms) => ms.toFixed(0)).join(', ')} ms (median ${median(startupMs).toFixed(0)} ms)`,
  );

  const logFile = join(dir, 'egress-guard.log');
  const profileDir = join(dir, 'profile');
  // Fresh servers for every payload (and for the fixed-rate run), as JMH forks a JVM per benchmark: what V8 has
  // compiled for one payload's traffic stays with the process, and it changed the next payload's figures (a
  // ServiceEntry measured after the two pod payloads counted 246k instructions a review against 221k in a fresh
  // process; the floor's code path is the same for every payload and counted 210k either way).
  // Pinned for the throughput comparisons only: at a fixed rate a server is mostly idle, and on one CPU its own
  // garbage-collection threads would wait for its main thread's time slice, a latency of ours the pod would not have.
  const start = async (tag: string, pinned = true): Promise<Servers> => {
    const where = pinned ? placement : undefined;
    const settings = await egressEnv();
    const profile = (where: string) =>
      PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, tag, where)}`] : [];
    const sampled = (name: string) => (sampling && pinned ? perfNodeOptions(dir, `${tag}-${name}`) : []);
    const egress = spawnServer(where, MAIN, settings, logFile, [
      ...profile('egress-guard'),
      ...sampled('egress-guard'),
    ]);
    const basePort = await freePort();
    const baseline = spawnServer(where, BASELINE, { ...tlsEnv, PORT: String(basePort) }, 'pipe', [
      ...profile('baseline'),
      ...sampled('baseline'),
    ]);
    const calibratedPort = await freePort();
    const calibrated =
      CALIBRATE_US > 0
        ? spawnServer(
            where,
            BASELINE,
            { ...tlsEnv, PORT: String(calibratedPort), EXTRA_CPU_US: String(CALIBRATE_US) },
            'pipe',
          )
        : undefined;
    const others = await Promise.all(
      COMPARE.map(async ({ name, main }) => {
        const own = await egressEnv();
        const child = spawnServer(where, main, own, join(dir, `${name}.log`));
        return { name, own, child };
      }),
    );
    const children = [egress, baseline, ...(calibrated ? [calibrated] : []), ...others.map(({ child }) => child)];
    running.push(...children);
    await waitFor200(`http://127.0.0.1:${settings.OPS_PORT}/readyz`, performance.now(), egress);
    for (const { own, child } of others)
      await waitFor200(`http://127.0.0.1:${own.OPS_PORT}/readyz`, performance.now(), child);
    await waitForLine(baseline, 'listening');
    if (calibrated) await waitForLine(calibrated, 'listening');
    return {
      egress: { url: `https://127.0.0.1:${settings.PORT}`, port: Number(settings.PORT), pid: egress.pid },
      baseline: { url: `https://127.0.0.1:${basePort}`, port: basePort, pid: baseline.pid },
      ...(calibrated
        ? { calibrated: { url: `https://127.0.0.1:${calibratedPort}`, port: calibratedPort, pid: calibrated.pid } }
        : {}),
      compared: Object.fromEntries(
        others.map(({ name, own, child }) => [
          name,
          { url: `https://127.0.0.1:${own.PORT}`, port: Number(own.PORT), pid: child.pid },
        ]),
      ),
      stop: () => Promise.all(children.map((child) => child.stop())).then(() => undefined),
    };
  };
  const running: Child[] = [];
  try {
    const results: Record<string, PayloadFigures> = {};
    const measured = payloads().filter((p) => !ONLY || ONLY.includes(p.id));
    // BENCH_SHARED_SERVERS=1: every payload through the same servers, in turn, as a replica serving pods and
    // ServiceEntries sees them; each payload's figures then depend on the ones before it.
    const shared = SHARED_SERVERS ? await start('shared') : undefined;
    for (const payload of measured) {
      const servers = shared ?? (await start(payload.id));
      await sanityCheck(payload, servers.egress.url, servers.baseline.url, caCertPem);
      results[payload.id] = await compare(payload, servers, caCertPem, sampling);
      if (!shared) await servers.stop();
    }
    await shared?.stop();

    // The fixed-rate runs, against servers of their own, warmed first.
    const pod = payloads()[0] as Payload;
    if (placement) unpinThisProcess();
    const rated = await start('fixed-rate', false);
    const fixedRate = await measureFixedRate(
      { egressGuard: rated.egress, baseline: rated.baseline },
      {
        path: pod.path,
        body: pod.body,
        rate: RATE,
        seconds: RATE_SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        connections: CONNECTIONS,
        log,
      },
    );
    const egress = rated.egress;
    const egressMemory = memoryOf(egress.pid);

    await rated.stop();
    const logLines = await countLines(logFile);
    const serving = (await head(logFile, 64 * 1024))
      .split('\n')
      .find((line) => line.includes('"egress-guard is serving"'));
    log(`egress-guard said: ${serving ?? '(no "serving" line found)'}`);
    const logBytes = (await stat(logFile)).size;
    log(`egress-guard wrote ${logLines} log lines (${(logBytes / 1e6).toFixed(1)} MB) to its stdout file`);
    if (PROFILE) {
      for (const tag of SHARED_SERVERS ? ['shared'] : measured.map((payload) => payload.id)) {
        for (const server of ['egress-guard', 'baseline']) {
          const where = join(profileDir, tag, server);
          const profiles = (await readdir(where)).filter((name) => name.endsWith('.cpuprofile'));
          for (const name of profiles) {
            log(`\n${server} CPU profile, ${tag} (${name}):\n${summarise(join(where, name), 30)}\n`);
            if (env.BENCH_PROFILE_DIR)
              await copyFile(join(where, name), join(env.BENCH_PROFILE_DIR, `${server}.${tag}.cpuprofile`));
          }
        }
      }
    }

    const index = SKIP_INDEX ? undefined : await indexFigures();
    printTable(results);
    log(
      JSON.stringify({
        machine: {
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model ?? '',
          node: process.version,
          platform: `${process.platform} ${process.arch}`,
          date: new Date().toISOString(),
          // Other processes competing for the two cores make the ratios noisy; this says how busy the machine was.
          loadAverageAtStart: LOAD_AT_START,
          loadAverageAtEnd: loadavg().map((value) => round(value, 2)),
        },
        settings: {
          seconds: SECONDS,
          rounds: ROUNDS,
          connections: CONNECTIONS,
          warmupSeconds: WARMUP_SECONDS,
          profile: PROFILE,
          sharedServers: SHARED_SERVERS,
          pinned: placement ?? false,
          interleaved: { cycles: INTERLEAVED_CYCLES, phaseMs: PHASE_MS },
        },
        payloads: results,
        fixedRate: { payload: pod.id, rate: RATE, seconds: RATE_SECONDS, ...fixedRate },
        startupMs: { median: round(median(startupMs), 0), samples: startupMs.map((ms) => round(ms, 0)) },
        egressGuardRss: { endBytes: egressMemory.rss, peakBytes: egressMemory.peakRss },
        logLines,
        index: index ?? 'skipped (BENCH_SKIP_INDEX=1)',
      }),
    );
  } finally {
    await Promise.all(running.map((server) => server.stop()));
  }
}

/** One review to each server before loading it: both must answer 200 with an AdmissionReview for the uid. */
async function sanityCheck(payload: Payload, egressUrl: string, baselineUrl: string, ca: string): Promise<void> {
  for (const [name, url] of [
    ['egress-guard', egressUrl],
    ['baseline', baselineUrl],
  ] as const) {
    const { status, body } = await post(url + payload.path, payload.body, ca);
    const response = (
      JSON.parse(body) as { response?: { uid?: string; allowed?: boolean; patch?: string; warnings?: string[] } }
    ).response;
    if (status !== 200 || response?.allowed === undefined)
      throw new Error(`${name} answered ${status} to ${payload.id}: ${body.slice(0, 300)}`);
    if (name === 'egress-guard') {
      const patch = response.patch ? Buffer.from(response.patch, 'base64').toString('utf8') : undefined;
      log(
        `\n${payload.id} (${payload.description}, ${payload.body.length} bytes): egress-guard answers allowed=${response.allowed}` +
          `${patch ? `, patch ${patch.length} bytes` : ''}${response.warnings?.length ? `, ${response.warnings.length} warnings` : ''}`,
      );
    }
  }
}

type Server = { url: string; port: number; pid: number };

/** One payload's servers, started for it alone. */
interface Servers {
  egress: Server;
  baseline: Server;
  calibrated?: Server;
  /** BENCH_COMPARE's builds, by name. */
  compared: Record<string, Server>;
  stop(): Promise<void>;
}

async function compare(
  payload: Payload,
  started: Servers,
  caCertPem: string,
  sampling?: Sampling,
): Promise<PayloadFigures> {
  const { egress, baseline, calibrated } = started;
  const run = (server: Server, seconds: number) =>
    load({ url: server.url + payload.path, body: payload.body, connections: CONNECTIONS, seconds, pid: server.pid });
  const servers = { egress, baseline, ...(calibrated ? { calibrated } : {}) };
  const names = Object.keys(servers) as (keyof typeof servers)[];
  for (const name of names) await run(servers[name] as Server, WARMUP_SECONDS);
  const runs: Record<string, LoadResult[]> = { egress: [], baseline: [], calibrated: [] };
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const calibrationRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate which server goes first, so a slow drift of the machine falls on all of them.
    const order = names.map((_, index) => names[(index + round) % names.length] as keyof typeof servers);
    const pair: Partial<Record<keyof typeof servers, LoadResult>> = {};
    for (const which of order) pair[which] = await run(servers[which] as Server, SECONDS);
    for (const which of order) runs[which]?.push(pair[which] as LoadResult);
    ratios.push((pair.egress?.rps ?? NaN) / (pair.baseline?.rps ?? NaN));
    cpuRatios.push(cpuPerReview(pair.baseline) / cpuPerReview(pair.egress));
    if (pair.calibrated) calibrationRatios.push(pair.calibrated.rps / (pair.baseline?.rps ?? NaN));
    log(
      `  round ${round + 1}: egress-guard ${pair.egress?.rps.toFixed(0)} req/s (${pair.egress?.serverCores?.toFixed(2)} cores), ` +
        `baseline ${pair.baseline?.rps.toFixed(0)} req/s (${pair.baseline?.serverCores?.toFixed(2)} cores), ratio ${ratios.at(-1)?.toFixed(3)}, ` +
        `CPU per review ${cpuPerReview(pair.egress).toFixed(0)} vs ${cpuPerReview(pair.baseline).toFixed(0)} us` +
        (pair.calibrated
          ? `; floor + ${CALIBRATE_US} us: ratio ${calibrationRatios.at(-1)?.toFixed(3)}, ${cpuPerReview(pair.calibrated).toFixed(0)} us`
          : ''),
    );
  }
  const figures = (results: LoadResult[]): ServerFigures => {
    const latencies = concat(results.map((result) => result.latencies));
    return {
      rps: round(median(results.map((result) => result.rps)), 0),
      p50Ms: round(percentile(latencies, 50), 3),
      p99Ms: round(percentile(latencies, 99), 3),
      cores: round(median(results.map((result) => result.serverCores ?? NaN)), 2),
      cpuUsPerReview: round(median(results.map(cpuPerReview)), 1),
      failures: results.reduce((sum, result) => sum + result.failures, 0),
    };
  };
  return {
    bytes: Buffer.byteLength(payload.body),
    egressGuard: figures(runs.egress as LoadResult[]),
    baseline: figures(runs.baseline as LoadResult[]),
    ...(calibrated
      ? {
          calibration: {
            extraCpuUs: CALIBRATE_US,
            figures: figures(runs.calibrated as LoadResult[]),
            ratio: round(median(calibrationRatios), 3),
          },
        }
      : {}),
    ratio: round(median(ratios), 3),
    ratios: ratios.map((ratio) => round(ratio, 3)),
    cpuRatio: round(median(cpuRatios), 3),
    egressGuardRssBytes: memoryOf(egress.pid).rss,
    loadGeneratorCores: round(
      median(
        [...(runs.egress as LoadResult[]), ...(runs.baseline as LoadResult[])].map((result) => result.clientCores),
      ),
      2,
    ),
    ...(INTERLEAVED_CYCLES > 0
      ? { interleaved: await interleave(payload, servers, started.compared, caCertPem, sampling) }
      : {}),
  };
}

/** The interleaved measurement (interleaved.ts) of the same servers, after the autocannon rounds. */
async function interleave(
  payload: Payload,
  servers: { egress: Server; baseline: Server; calibrated?: Server },
  compared: Record<string, Server>,
  caCertPem: string,
  sampling?: Sampling,
): Promise<NonNullable<PayloadFigures['interleaved']>> {
  const samples = join(sampling?.dir ?? '', `${payload.id}.perf.data`);
  let recording: PerfRecording | undefined;
  const figures = await measureInterleaved({
    servers: Object.fromEntries(
      [
        ...Object.entries(servers),
        ...Object.entries(compared).map(([name, server]) => [`compared:${name}`, server]),
      ].map(([name, server]) => [name, { port: (server as Server).port, pid: (server as Server).pid }]),
    ),
    path: payload.path,
    body: payload.body,
    caCertPem,
    connections: CONNECTIONS,
    phaseMs: PHASE_MS,
    cycles: INTERLEAVED_CYCLES,
    warmupMs: 1_000,
    ...(sampling ? { afterWarmup: async () => void (recording = await recordCpus(sampling.cpus, samples)) } : {}),
  });
  await recording?.stop();
  const egress = figures.egress as InterleavedFigures;
  const baseline = figures.baseline as InterleavedFigures;
  const calibrated = figures.calibrated;
  const ratio = round(egress.rps / baseline.rps, 3);
  const cpuRatio = round(baseline.cpuUsPerReview / egress.cpuUsPerReview, 3);
  const wholeRunCpuRatio = round(baseline.cpuUsPerReviewWholeRun / egress.cpuUsPerReviewWholeRun, 3);
  const calibration = calibrated ? { ...calibrated, ratio: round(calibrated.rps / baseline.rps, 3) } : undefined;
  log(
    `  interleaved: egress-guard ${egress.rps.toFixed(0)} req/s, ${egress.cpuUsPerReview.toFixed(1)} us/rev; baseline ${baseline.rps.toFixed(0)} req/s, ` +
      `${baseline.cpuUsPerReview.toFixed(1)} us/rev; ratio ${ratio.toFixed(3)}, CPU ratio ${cpuRatio.toFixed(3)}` +
      `; whole-run CPU ${egress.cpuUsPerReviewWholeRun.toFixed(1)} vs ${baseline.cpuUsPerReviewWholeRun.toFixed(1)} us/rev, ` +
      `ratio ${wholeRunCpuRatio.toFixed(3)}` +
      (calibration ? `; floor + ${CALIBRATE_US} us: ratio ${calibration.ratio.toFixed(3)}` : '') +
      (egress.failures + baseline.failures > 0 ? `; FAILURES ${egress.failures} / ${baseline.failures}` : ''),
  );
  const others = Object.fromEntries(
    Object.keys(compared).map((name) => {
      const other = figures[`compared:${name}`] as InterleavedFigures;
      return [name, { ...other, ratio: round(other.rps / baseline.rps, 3) }];
    }),
  );
  for (const [name, other] of Object.entries(others))
    log(
      `  interleaved, ${name}: ${other.rps.toFixed(0)} req/s, ${other.cpuUsPerReview.toFixed(1)} us/rev ` +
        `(whole run ${other.cpuUsPerReviewWholeRun.toFixed(1)}); ratio ${other.ratio.toFixed(3)} ` +
        `(${(other.ratio - ratio).toFixed(3)} from egress-guard's)`,
    );
  if (recording) await logWhereTimeGoes(samples, servers, egress, baseline);
  const rounded = (f: InterleavedFigures): InterleavedFigures => ({
    rps: round(f.rps, 0),
    cpuUsPerReview: round(f.cpuUsPerReview, 1),
    failures: f.failures,
    reviews: f.reviews,
    cpuUsPerReviewWholeRun: round(f.cpuUsPerReviewWholeRun, 1),
  });
  return {
    ratio,
    cpuRatio,
    wholeRunCpuRatio,
    egressGuard: rounded(egress),
    baseline: rounded(baseline),
    ...(calibration ? { calibrated: { ...rounded(calibration), ratio: calibration.ratio } } : {}),
    ...(COMPARE.length > 0
      ? {
          compared: Object.fromEntries(
            Object.entries(others).map(([name, other]) => [name, { ...rounded(other), ratio: other.ratio }]),
          ),
        }
      : {}),
  };
}

/** Server CPU microseconds per answered review during one run. */
function cpuPerReview(result: LoadResult | undefined): number {
  return result === undefined || result.serverCores === undefined ? NaN : (result.serverCores * 1e6) / result.rps;
}

async function indexFigures(): Promise<{ cost: IndexCostResult; memory: unknown }> {
  log(
    '\nindex: building 1,000 and 100,000 ServiceEntries in-process, reviewing the 20-host ServiceEntry against each...',
  );
  const cost = measureIndexCost([1_000, 100_000]);
  log(
    `index: ${JSON.stringify(cost.microsPerReview)} us per review (decision ${cost.decision}), 100k/1k = ${cost.ratio}, indexing ms ${JSON.stringify(cost.indexingMs)}`,
  );
  const child = spawnNode(INDEX_MEMORY, {}, 'pipe', ['--expose-gc']);
  let output = '';
  child.process.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await child.exited;
  if (code !== 0) throw new Error(`index-memory.js exited with ${code}`);
  const memory = JSON.parse(output.trim()) as {
    before: { rss: number; heapUsed: number };
    after: { rss: number; heapUsed: number };
    indexingMs: number;
  };
  log(
    `index: 100,000 ServiceEntries in a fresh process: RSS ${mb(memory.before.rss)} -> ${mb(memory.after.rss)} MB, heap used ${mb(memory.before.heapUsed)} -> ${mb(memory.after.heapUsed)} MB (indexed in ${memory.indexingMs} ms)`,
  );
  return { cost, memory };
}

function printTable(results: Record<string, PayloadFigures>): void {
  const rows = [
    [
      'payload',
      'bytes',
      'eg req/s',
      'base req/s',
      'ratio',
      'eg p50',
      'eg p99',
      'base p50',
      'base p99',
      'eg cores',
      'base cores',
      'eg us/rev',
      'base us/rev',
      'cpu ratio',
      'il ratio',
      'il cpu ratio',
      'eg RSS MB',
    ],
    ...Object.entries(results).map(([id, r]) => [
      id,
      String(r.bytes),
      String(r.egressGuard.rps),
      String(r.baseline.rps),
      r.ratio.toFixed(3),
      `${r.egressGuard.p50Ms.toFixed(2)}`,
      `${r.egressGuard.p99Ms.toFixed(2)}`,
      `${r.baseline.p50Ms.toFixed(2)}`,
      `${r.baseline.p99Ms.toFixed(2)}`,
      r.egressGuard.cores.toFixed(2),
      r.baseline.cores.toFixed(2),
      r.egressGuard.cpuUsPerReview.toFixed(0),
      r.baseline.cpuUsPerReview.toFixed(0),
      r.cpuRatio.toFixed(3),
      r.interleaved?.ratio.toFixed(3) ?? '-',
      r.interleaved?.cpuRatio.toFixed(3) ?? '-',
      mb(r.egressGuardRssBytes),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  log(
    '\nlatencies in ms; ratio = median over rounds of egress-guard req/s / baseline req/s; us/rev = server CPU (all threads) per review;',
  );
  log(
    'cpu ratio = median over rounds of baseline us/rev / egress-guard us/rev (robust when other processes take CPU);',
  );
  log(
    'il ratio, il cpu ratio = the same from the interleaved keep-alive run, pooled over its phases (robust to drift of the machine)',
  );
  for (const row of rows)
    log(
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
        .join('  '),
    );
  for (const [id, { calibration }] of Object.entries(results)) {
    if (!calibration) continue;
    log(
      `calibration, ${id}: the floor burning ${calibration.extraCpuUs} us of CPU per review measures ratio ${calibration.ratio.toFixed(3)} ` +
        `(${calibration.figures.cpuUsPerReview.toFixed(0)} us/rev)`,
    );
  }
}

function post(url: string, body: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The first `bytes` of a file, as text. */
async function head(file: string, bytes: number): Promise<string> {
  const handle = await open(file);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    for (let at = (chunk as Buffer).indexOf(10); at >= 0; at = (chunk as Buffer).indexOf(10, at + 1)) lines++;
  }
  return lines;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** Where BENCH_PERF=1 samples: the servers' CPUs (every CPU when unpinned), with files in the bench's directory. */
interface Sampling {
  cpus: string | undefined;
  dir: string;
}

function samplingIn(dir: string, cpus: string | undefined): Sampling | undefined {
  if (perfAvailable()) return { cpus, dir };
  log('BENCH_PERF=1: perf is not installed (Debian: apt-get install linux-perf); nothing sampled');
  return undefined;
}

/** BENCH_PERF=1: the interleaved run's samples, per review, egress-guard against the floor. */
async function logWhereTimeGoes(
  samples: string,
  servers: { egress: Server; baseline: Server },
  egress: InterleavedFigures,
  baseline: InterleavedFigures,
): Promise<void> {
  const times = timePerReview(
    samples,
    new Map([
      [servers.egress.pid, egress.reviews],
      [servers.baseline.pid, baseline.reviews],
    ]),
  );
  const ours = times.get(servers.egress.pid) ?? new Map<string, number>();
  const floor = times.get(servers.baseline.pid) ?? new Map<string, number>();
  const total = (functions: Map<string, number>) =>
    [...functions.values()].reduce((sum, micros) => sum + micros, 0).toFixed(1);
  log(
    `  sampled at ${PERF_FREQUENCY_HZ} Hz: egress-guard ${total(ours)} us a review, baseline ${total(floor)} us; where egress-guard's time goes beyond the floor's:`,
  );
  for (const line of largestDifferences(ours, floor, PERF_FUNCTIONS_LISTED, {
    name: 'us per review, sampled',
    digits: 2,
  }))
    log(`    ${line}`);
  await Promise.all([servers.egress.pid, servers.baseline.pid].map((pid) => rm(perfMapFile(pid), { force: true })));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench crashed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
