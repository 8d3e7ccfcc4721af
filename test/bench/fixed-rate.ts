// The fixed-rate part of `npm run bench`: what the API server sees at 1,000 pod creations per second, measured
// against egress-guard and the floor in turn. A p99 at this rate is mostly the machine's: a 9 KB pod costs about
// 0.1 ms of CPU, so the tail is made of scheduling stalls and garbage collection, and the floor's p99 in the same
// run says how much of it is ours.
import { load, percentile, round } from './load.js';
import { paced } from './paced.js';

type Server = { url: string; pid: number };

export interface RateFigures {
  /** autocannon `overallRate`: each connection sends its share of a second back to back, then pauses. */
  autocannon: { achievedRps: number; p50Ms: number; p99Ms: number; maxMs: number; cores: number; failures: number };
  /** Evenly paced, open loop: latency counts from when each request was due. */
  paced: { p50Ms: number; p99Ms: number; maxMs: number; p99FromSentMs: number; maxSendLagMs: number; failures: number };
}

export interface FixedRateOptions {
  path: string;
  body: string;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  log(line: string): void;
}

/** Both kinds of fixed-rate run against both servers, egress-guard first then the floor for autocannon and the other way round for the paced run, so neither always goes first. */
export async function measureFixedRate(
  servers: { egressGuard: Server; baseline: Server },
  options: FixedRateOptions,
): Promise<Record<'egressGuard' | 'baseline', RateFigures>> {
  const names = ['egressGuard', 'baseline'] as const;
  for (const name of names)
    await load({
      url: servers[name].url + options.path,
      body: options.body,
      connections: options.connections,
      seconds: options.warmupSeconds,
    });
  const autocannonFigures: Partial<Record<(typeof names)[number], RateFigures['autocannon']>> = {};
  for (const name of names) {
    const run = await load({
      url: servers[name].url + options.path,
      body: options.body,
      connections: options.connections,
      seconds: options.seconds,
      overallRate: options.rate,
      pid: servers[name].pid,
    });
    const figures = {
      achievedRps: round(run.rps, 0),
      p50Ms: round(percentile(run.latencies, 50), 3),
      p99Ms: round(percentile(run.latencies, 99), 3),
      maxMs: round(percentile(run.latencies, 100), 3),
      cores: round(run.serverCores ?? NaN, 2),
      failures: run.failures,
    };
    autocannonFigures[name] = figures;
    options.log(
      `fixed rate ${options.rate}/s for ${options.seconds} s (autocannon overallRate), ${label(name)}: ${figures.achievedRps} req/s, ` +
        `p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms, server ${figures.cores} cores`,
    );
  }
  const pacedFigures: Partial<Record<(typeof names)[number], RateFigures['paced']>> = {};
  for (const name of [...names].reverse()) {
    const target = { url: servers[name].url + options.path, body: options.body, rate: options.rate };
    // A second of warm-up for the paced client's own connections.
    await paced({ ...target, seconds: 1 });
    const run = await paced({ ...target, seconds: options.seconds });
    const figures = {
      p50Ms: round(percentile(run.latencies, 50), 3),
      p99Ms: round(percentile(run.latencies, 99), 3),
      maxMs: round(percentile(run.latencies, 100), 3),
      p99FromSentMs: round(percentile(run.fromSent, 99), 3),
      maxSendLagMs: round(run.maxSendLagMs, 3),
      failures: run.failures,
    };
    pacedFigures[name] = figures;
    options.log(
      `fixed rate ${options.rate}/s for ${options.seconds} s (evenly paced, open loop), ${label(name)}: p50 ${figures.p50Ms} ms, ` +
        `p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms; p99 from actual send ${figures.p99FromSentMs} ms (this client lagged up to ${figures.maxSendLagMs} ms)`,
    );
  }
  const both = (name: (typeof names)[number]): RateFigures => ({
    autocannon: autocannonFigures[name] as RateFigures['autocannon'],
    paced: pacedFigures[name] as RateFigures['paced'],
  });
  return { egressGuard: both('egressGuard'), baseline: both('baseline') };
}

const label = (name: 'egressGuard' | 'baseline') => (name === 'egressGuard' ? 'egress-guard' : 'baseline    ');
