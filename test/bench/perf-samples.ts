// BENCH_PERF=1 `npm run bench`: where each server's *time* goes in the interleaved run, per review, by function.
// callgrind (bench:instructions) counts instructions, which cost the same whether they hit the cache or not, and on
// the project's VM it had a 20-host ServiceEntry at 0.99 of the floor while it ran at 0.88. Here `perf record`
// samples the servers' CPU by time (cpu-clock: this VM has no hardware counters) while the interleaved load runs,
// native code and the kernel included; node's --perf-basic-prof names the JIT code (and regular expressions) in
// /tmp/perf-<pid>.map. A sample is 1/frequency of a second, so samples / reviews is time per review.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * 999 Hz, not perf's default 4000. Sampled at 4999 Hz, a 20-host ServiceEntry measured 0.97-0.99 of the floor against
 * 0.90-0.94 unsampled, and its samples put it at only 1.1 us a review above the floor; at 999 Hz the run measured 0.94
 * and the samples' difference per review (3.9 us) matched the CPU time's. Read a BENCH_PERF run for where the time
 * goes, not for the benchmark's figures: the sampling and --perf-basic-prof both run inside the servers.
 */
export const PERF_FREQUENCY_HZ = 999;

/**
 * --perf-basic-prof implies V8's --log, whose file would land in the server's working directory as
 * isolate-<address>-<pid>-v8.log: it goes to `logDir` instead.
 */
export function perfNodeOptions(logDir: string, name: string): string[] {
  return ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(logDir, `${name}.v8.log`)}`];
}

export function perfAvailable(): boolean {
  return spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface PerfRecording {
  stop(): Promise<void>;
}

/** Samples every process on `cpuList` (the servers' CPUs), or on every CPU when it is undefined, into `file`. */
export async function recordCpus(cpuList: string | undefined, file: string): Promise<PerfRecording> {
  const where = cpuList === undefined ? ['-a'] : ['-C', cpuList];
  const child = spawn('perf', ['record', '-q', ...where, '-F', String(PERF_FREQUENCY_HZ), '-o', file], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // perf creates the file once it is sampling.
  for (let waited = 0; !existsSync(file) && waited < 5_000; waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    stop: async () => {
      child.kill('SIGINT');
      await exited;
    },
  };
}

/**
 * One function's name from a `perf script -F pid,ip,sym,dso` symbol: JIT tiers (`JS:*f`, `JS:~f`, `JS:^f`) are one
 * function, paths are shortened to what follows dist/ or node_modules/, and code perf cannot name is grouped by its
 * file.
 */
export function functionName(symbol: string, dso: string): string {
  const name =
    symbol === '' || symbol === '[unknown]' ? `[unknown] ${dso.replace(/^\/tmp\/perf-\d+\.map$/, 'JIT code')}` : symbol;
  return name
    .replace(/^JS:[*~^+]?/, '')
    .replace(/file:\/\/\S*?\/dist\//, '')
    .replace(/\S*?\/node_modules\//, '')
    .replace(/\+0x[0-9a-f]+$/, '');
}

/** Samples by process and function, from `perf script -F pid,ip,sym,dso` output; other processes are left out. */
export function samplesByFunction(script: string, pids: readonly number[]): Map<number, Map<string, number>> {
  const byPid = new Map(pids.map((pid) => [pid, new Map<string, number>()]));
  for (const line of script.split('\n')) {
    // `  2949  7f96800060 JS:*review file:///…/validate-serviceentries.js:13:15 (/tmp/perf-2949.map)`
    const match = /^\s*(\d+)\s+[0-9a-f]+\s+(.*?)\s*\(([^()]*)\)\s*$/.exec(line);
    if (!match) continue;
    const functions = byPid.get(Number(match[1]));
    if (functions === undefined) continue;
    const name = functionName(match[2] as string, match[3] as string);
    functions.set(name, (functions.get(name) ?? 0) + 1);
  }
  return byPid;
}

/** Microseconds per review by function, for each of `reviews`' processes (pid to reviews answered while sampled). */
export function timePerReview(file: string, reviews: ReadonlyMap<number, number>): Map<number, Map<string, number>> {
  const script = spawnSync('perf', ['script', '-i', file, '-F', 'pid,ip,sym,dso'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (script.status !== 0) throw new Error(`perf script ${file} failed: ${script.stderr}`);
  const samples = samplesByFunction(script.stdout, [...reviews.keys()]);
  const microsPerSample = 1e6 / PERF_FREQUENCY_HZ;
  return new Map(
    [...samples].map(([pid, functions]) => {
      const count = reviews.get(pid) ?? 1;
      return [pid, new Map([...functions].map(([name, hits]) => [name, (hits * microsPerSample) / count]))];
    }),
  );
}
