// One autocannon run against one server: throughput, latency percentiles with sub-millisecond resolution
// (autocannon's own histogram counts whole milliseconds), and how busy the server process was.
import autocannon from 'autocannon';
import { cpuSecondsOf } from './processes.js';

export interface LoadOptions {
  url: string;
  body: string;
  connections: number;
  seconds: number;
  /** Stop after this many requests instead of after `seconds`. */
  amount?: number;
  /** Fixed rate over all connections (requests per second); omit for as fast as the server answers. */
  overallRate?: number;
  /** The server's pid, to measure the CPU it used during the run. */
  pid?: number;
}

export interface LoadResult {
  /** 2xx answers per second. */
  rps: number;
  ok: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  failures: number;
  /** Latencies of the 2xx answers, in milliseconds, unsorted. */
  latencies: Float64Array;
  /** Server CPU during the run, in cores (1 = one core fully busy). */
  serverCores?: number;
  /** This (load generator) process's CPU during the run, in cores. */
  clientCores: number;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 15);
  let ok = 0;
  const cpuBefore = options.pid === undefined ? 0 : cpuSecondsOf(options.pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const instance = autocannon(
    {
      url: options.url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: options.body,
      connections: options.connections,
      duration: options.seconds,
      ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
      ...(options.amount === undefined ? {} : { amount: options.amount }),
    },
    () => undefined,
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 200 || statusCode >= 300) return;
    if (ok === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[ok++] = responseTime;
  });
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance.once('done', resolve);
    instance.once('error', reject);
  });
  const elapsed = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  return {
    rps: ok / elapsed,
    ok,
    failures: result.non2xx + result.errors,
    latencies: latencies.subarray(0, ok),
    ...(options.pid === undefined ? {} : { serverCores: (cpuSecondsOf(options.pid) - cpuBefore) / elapsed }),
    clientCores: (client.user + client.system) / 1e6 / elapsed,
  };
}

/** The value at percentile `p` (0-100) of the samples, nearest-rank. */
export function percentile(samples: Float64Array, p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

export function concat(parts: readonly Float64Array[]): Float64Array {
  const all = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

/** `value` rounded to `digits` decimal places, for printing and the JSON line. */
export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
