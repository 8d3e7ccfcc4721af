// A soak of the production process: egress-guard (node dist/src/main.js with KUBECONFIG, its cluster-wide index
// live against a real kube-apiserver) gets a fixed rate of AdmissionReviews (pods and ServiceEntries, over
// keep-alive HTTPS, straight to it) while kubectl creates, updates and deletes ServiceEntries and DestinationRules
// every few seconds, so the watch keeps delivering events into the index the reviews read.
//
// Asserted: every review answered 200 with a well-formed AdmissionReview for its uid and the verdict its kind
// calls for; the server counted exactly the reviews sent; the index ends equal to what kubectl lists; and the
// resident set size (process_resident_memory_bytes, sampled from /metrics) stays bounded.
// Printed (console.log): the rate achieved, counts, p50/p99/max latency, and the RSS series.
//
// Run (60 s by default, about 1.5 min in all):
//   npm run build && node --experimental-vm-modules node_modules/jest/bin/jest.js \
//     --config test/e2e/jest.config.js --runInBand test/e2e/soak.test.ts
// A longer soak, e.g. ten minutes:
//   SOAK_SECONDS=600 npm run test:e2e -- soak
// Knobs: SOAK_SECONDS (60), SOAK_RATE reviews/s (200), SOAK_CHURN_SECONDS between kubectl changes (2),
// SOAK_SAMPLE_SECONDS between RSS samples (2), SOAK_MAX_GROWTH_MB (50).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { replicaSetPod, review, serviceEntryReview } from '../fixtures/reviews.js';
import { installIstioCrds, startCluster, type Cluster } from './cluster.js';
import { makeCertificates, startEgressGuard, type EgressGuard } from './support/egress-guard.js';
import {
  ReviewClient,
  atFixedRate,
  decodedPatch,
  formatSummary,
  median,
  metricSum,
  metricValue,
  pollUntil,
  scrape,
  slope,
  summarize,
  wireProblems,
  type ReviewResult,
  started,
} from './support/review-traffic.js';

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got ${process.env[name]}`);
  return value;
};
const SOAK_SECONDS = env('SOAK_SECONDS', 60);
const RATE = env('SOAK_RATE', 200);
const CHURN_SECONDS = env('SOAK_CHURN_SECONDS', 2);
const SAMPLE_SECONDS = env('SOAK_SAMPLE_SECONDS', 2);
const MAX_GROWTH_MB = env('SOAK_MAX_GROWTH_MB', 50);
/** Excluded from the memory criteria: JIT, V8's young generation growing to its working size, TLS and socket pools. */
const WARMUP_SECONDS = Math.max(10, SOAK_SECONDS * 0.2);
/** How far the second half's peak may rise above the first half's: one step of V8's old-space growth, or 10 %. */
const PLATEAU_SLACK_MB = 15;
const WEBHOOK_TIMEOUT_MS = 5_000;
const MB = 1024 * 1024;

const NAMESPACE = 'external';
/** Hosts the reviews ask about; kubectl's ServiceEntries declare them with varying ports, so cross-object rules fire. */
const HOSTS = 20;
const BASE_ENTRIES = 40;
/** Churned ServiceEntries alive at any time (each round creates one and deletes the oldest). */
const CHURN_WINDOW = 5;

type Kind = 'pod' | 'service-entry' | 'wildcard';

interface RssSample {
  t: number;
  rss: number;
  heapUsed: number;
  reviews: number;
  stale: number | undefined;
  /** Longest event-loop stall since the previous sample, ms: egress-guard's (prom-client, 10 ms resolution) and this test process's. */
  serverLagMs: number;
  clientLagMs: number;
  /** Reviews sent since the previous sample that took over 50 ms. */
  slow: number;
}

let cluster: Cluster | undefined;
let guard: EgressGuard | undefined;
let client: ReviewClient | undefined;
const printed: string[] = [];

const k = (): Cluster => started(cluster, 'the cluster');
const g = (): EgressGuard => started(guard, 'egress-guard');

const host = (i: number) => `h${((i % HOSTS) + HOSTS) % HOSTS}.soak.example.com`;

function serviceEntry(name: string, hosts: string[], ports: number[], resolution = 'DNS') {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      hosts,
      location: 'MESH_EXTERNAL',
      resolution,
      ports: ports.map((number) => ({ number, name: `tcp-${number}`, protocol: 'TCP' })),
    },
  };
}

function destinationRule(name: string, forHost: string, mode: 'SIMPLE' | 'DISABLE') {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name, namespace: NAMESPACE },
    spec: { host: forHost, trafficPolicy: { tls: { mode } } },
  };
}

const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/** One round of changes: an update of a base entry (ports flip), a new churn entry, the oldest churn entry deleted, a DestinationRule flipped. */
async function churn(round: number): Promise<void> {
  const ports = round % 2 === 0 ? [443, 8443] : [443];
  await k().kubectl(['apply', '-f', '-'], {
    stdin: list([
      serviceEntry(`base-${round % BASE_ENTRIES}`, [host(round)], ports),
      serviceEntry(`churn-${round}`, [host(round + 7)], [443, 9000 + (round % 100)]),
      destinationRule(`dr-${round % 5}`, host(round), round % 2 === 0 ? 'SIMPLE' : 'DISABLE'),
    ]),
  });
  if (round >= CHURN_WINDOW)
    await k().kubectl([
      'delete',
      'serviceentry',
      `churn-${round - CHURN_WINDOW}`,
      '-n',
      NAMESPACE,
      '--ignore-not-found',
    ]);
}

function reviewFor(kind: Kind, i: number) {
  switch (kind) {
    case 'pod':
      return { path: '/mutate/pods', body: review(replicaSetPod(), { uid: randomUUID(), namespace: 'shop' }) };
    case 'service-entry':
      return {
        path: '/validate/serviceentries',
        body: serviceEntryReview(serviceEntry(`reviewed-${i % 50}`, [host(i)], [443]), {
          namespace: NAMESPACE,
          uid: randomUUID(),
        }),
      };
    case 'wildcard':
      return {
        path: '/validate/serviceentries',
        body: serviceEntryReview(serviceEntry('wild', ['*.wild.example.com'], [443]), {
          namespace: NAMESPACE,
          uid: randomUUID(),
        }),
      };
  }
}

/** Half pods (the common case in a cluster), the rest ServiceEntries: mostly allowed with cross-object warnings, some denied. */
const MIX: readonly Kind[] = ['pod', 'service-entry', 'pod', 'service-entry', 'pod', 'wildcard'];

function problemsOf(kind: Kind, result: ReviewResult): string[] {
  const problems = wireProblems(result);
  if (problems.length > 0) return problems;
  if (
    kind === 'pod' &&
    !decodedPatch(result.response)?.some((op) => op.path === '/metadata/annotations/proxy.istio.io~1config')
  )
    problems.push('pod not patched');
  if (kind === 'service-entry' && result.response?.allowed !== true)
    problems.push(`denied: ${result.response?.status?.message}`);
  if (kind === 'wildcard' && result.response?.allowed !== false) problems.push('wildcard + DNS allowed');
  return problems;
}

beforeAll(async () => {
  cluster = await startCluster();
  await installIstioCrds(cluster);
  await cluster.kubectl(['create', 'namespace', NAMESPACE]);
  await cluster.kubectl(['apply', '-f', '-'], {
    stdin: list(
      Array.from({ length: BASE_ENTRIES }, (_, i) =>
        serviceEntry(`base-${i}`, [host(i)], i % 3 === 0 ? [443, 8443] : [443]),
      ),
    ),
  });
  const certificates = await makeCertificates(join(cluster.dir, 'egress-guard-certs'));
  guard = await startEgressGuard({
    kubeconfigPath: cluster.kubeconfigPath,
    certificates,
    logFile: join(cluster.logDir, 'egress-guard.log'),
  });
  // The API server keeps a small pool of connections per webhook; 8 is plenty at 200/s of ~1 ms answers.
  client = new ReviewClient(guard.baseUrl, {
    ca: readFileSync(certificates.caCert, 'utf8'),
    timeoutMs: WEBHOOK_TIMEOUT_MS,
    maxSockets: 8,
  });
});

afterAll(async () => {
  try {
    if (printed.length > 0) console.log(`==================== soak ====================\n${printed.join('\n')}`);
    if (cluster) console.log(`egress-guard log: ${guard?.logFile ?? '(not started)'}; cluster logs: ${cluster.logDir}`);
  } finally {
    try {
      client?.close();
      await guard?.dispose();
    } finally {
      await cluster?.stop();
    }
  }
});

describe(`soak: ${RATE} reviews/s for ${SOAK_SECONDS} s with the cluster index live`, () => {
  it(
    'answers every review correctly, follows every change, and keeps its memory bounded',
    async () => {
      const opsPort = g().opsPort;
      const reviewClient = client;
      if (!reviewClient) throw new Error('no review client');
      await pollUntil(
        async () =>
          metricValue(await scrape(opsPort), 'egress_guard_cluster_cache_objects', { kind: 'ServiceEntry' }) ===
          BASE_ENTRIES,
        `${BASE_ENTRIES} ServiceEntries indexed`,
        10_000,
      );
      const reviewsBefore = metricSum(await scrape(opsPort), 'egress_guard_admission_reviews_total');

      const started = performance.now();
      const deadline = started + SOAK_SECONDS * 1_000;
      const over = () => performance.now() >= deadline;

      // Load: open loop at a fixed rate.
      const latencies: number[] = [];
      let slow = 0;
      const failures: { kind: Kind; i: number; problems: string[]; latencyMs: number }[] = [];
      const counts: Record<Kind, number> = { pod: 0, 'service-entry': 0, wildcard: 0 };
      let warned = 0;
      const load = atFixedRate({
        rate: RATE,
        stop: over,
        fire: async (i) => {
          const kind = MIX[i % MIX.length] ?? 'pod';
          const { path, body } = reviewFor(kind, i);
          const result = await reviewClient.send(path, body);
          counts[kind]++;
          latencies.push(result.latencyMs);
          if (result.latencyMs > 50) slow++;
          if ((result.response?.warnings?.length ?? 0) > 0) warned++;
          const problems = problemsOf(kind, result);
          if (problems.length > 0) failures.push({ kind, i, problems, latencyMs: result.latencyMs });
        },
      });

      // Churn: kubectl changes every CHURN_SECONDS, back to back if kubectl is slower than that.
      let rounds = 0;
      const churnErrors: string[] = [];
      const churner = (async () => {
        while (!over()) {
          const next = performance.now() + CHURN_SECONDS * 1_000;
          try {
            await churn(rounds);
          } catch (error) {
            churnErrors.push((error as Error).message.split('\n')[0] ?? '');
          }
          rounds++;
          await new Promise((resolve) =>
            setTimeout(resolve, Math.max(0, Math.min(next, deadline) - performance.now())),
          );
        }
      })();

      // Memory: sampled from /metrics, as Prometheus would.
      const samples: RssSample[] = [];
      const clientLag = monitorEventLoopDelay({ resolution: 10 });
      clientLag.enable();
      const sampleOnce = async () => {
        const metrics = await scrape(opsPort);
        const clientLagMs = clientLag.max / 1e6;
        clientLag.reset();
        const slowSince = slow;
        slow = 0;
        samples.push({
          serverLagMs: (metricValue(metrics, 'nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000,
          clientLagMs,
          slow: slowSince,
          t: (performance.now() - started) / 1000,
          rss: metricValue(metrics, 'process_resident_memory_bytes') ?? Number.NaN,
          heapUsed: metricValue(metrics, 'nodejs_heap_size_used_bytes') ?? Number.NaN,
          reviews: metricSum(metrics, 'egress_guard_admission_reviews_total') - reviewsBefore,
          stale: metricValue(metrics, 'egress_guard_cluster_cache_stale'),
        });
      };
      const sampler = (async () => {
        await sampleOnce();
        while (!over()) {
          await new Promise((resolve) =>
            setTimeout(resolve, Math.max(0, Math.min(SAMPLE_SECONDS * 1_000, deadline - performance.now()))),
          );
          await sampleOnce();
        }
      })();

      const [sent] = await Promise.all([load, churner, sampler]);
      clientLag.disable();

      // The index ends where kubectl says the cluster is.
      const listed = async (resource: string) =>
        (await k().kubectl(['get', resource, '-A', '-o', 'name'])).stdout.trim().split('\n').filter(Boolean).length;
      const [entries, rules] = [
        await listed('serviceentries.networking.istio.io'),
        await listed('destinationrules.networking.istio.io'),
      ];
      const converged = await pollUntil(
        async () => {
          const metrics = await scrape(opsPort);
          const indexed = {
            entries: metricValue(metrics, 'egress_guard_cluster_cache_objects', { kind: 'ServiceEntry' }),
            rules: metricValue(metrics, 'egress_guard_cluster_cache_objects', { kind: 'DestinationRule' }),
          };
          return indexed.entries === entries && indexed.rules === rules ? { metrics, indexed } : undefined;
        },
        `the index to hold the ${entries} ServiceEntries and ${rules} DestinationRules kubectl lists`,
        10_000,
      ).catch(async (error: Error) => {
        const metrics = await scrape(opsPort);
        throw new Error(
          `${error.message}; indexed ${metricValue(metrics, 'egress_guard_cluster_cache_objects', { kind: 'ServiceEntry' })} ServiceEntries and ` +
            `${metricValue(metrics, 'egress_guard_cluster_cache_objects', { kind: 'DestinationRule' })} DestinationRules`,
        );
      });
      const finalMetrics = converged.value.metrics;
      const counted = metricSum(finalMetrics, 'egress_guard_admission_reviews_total') - reviewsBefore;
      const rejected = metricSum(finalMetrics, 'egress_guard_rejected_requests_total');
      const restarts = metricSum(finalMetrics, 'egress_guard_cluster_watch_restarts_total');
      const relists = metricSum(finalMetrics, 'egress_guard_cluster_relists_total');

      // ---- memory
      const steady = samples.filter((s) => s.t >= WARMUP_SECONDS);
      const firstHalf = steady.slice(0, Math.ceil(steady.length / 2));
      const secondHalf = steady.slice(Math.floor(steady.length / 2));
      const rssOf = (s: readonly RssSample[]) => s.map((x) => x.rss);
      const baseline = median(rssOf(steady.slice(0, 3)));
      const end = median(rssOf(steady.slice(-3)));
      const growth = end - baseline;
      const firstPeak = Math.max(...rssOf(firstHalf));
      const secondPeak = Math.max(...rssOf(secondHalf));
      const plateauSlack = Math.max(PLATEAU_SLACK_MB * MB, 0.1 * firstPeak);
      const secondHalfSlope = slope(secondHalf.map((s) => ({ x: s.t / 60, y: s.rss / MB }))); // MB per minute
      const rss = rssOf(samples);

      const latency = summarize(latencies);
      const step = Math.max(1, Math.ceil(samples.length / 60));
      const stalls = samples.filter((s) => s.slow > 0 || s.serverLagMs > 50 || s.clientLagMs > 50);
      const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
      printed.push(
        `load: ${sent.sent} reviews in ${sent.seconds.toFixed(1)} s = ${(sent.sent / sent.seconds).toFixed(1)}/s (target ${RATE}/s; most behind schedule: ${sent.maxBacklog}) ` +
          `- pods ${counts.pod}, ServiceEntries ${counts['service-entry']}, wildcard ${counts.wildcard}; ${warned} answers carried warnings`,
        `errors: ${failures.length} wrong or failed${failures.length > 0 ? `, first: ${JSON.stringify(failures.slice(0, 3))}` : ''}; ` +
          `server counted ${counted} reviews, ${rejected} rejected requests`,
        `latency (client, keep-alive HTTPS): ${formatSummary(latency)}`,
        `churn: ${rounds} rounds of kubectl changes every ${CHURN_SECONDS} s (${churnErrors.length} failed); index at the end: ` +
          `${converged.value.indexed.entries} ServiceEntries, ${converged.value.indexed.rules} DestinationRules (kubectl: ${entries}, ${rules}), ` +
          `settled ${converged.ms.toFixed(0)} ms after the load stopped; watch restarts ${restarts}, relists ${relists}`,
        `RSS: start ${mb(rss[0] ?? Number.NaN)}, after warm-up (${WARMUP_SECONDS.toFixed(0)} s) ${mb(baseline)}, end ${mb(end)}, max ${mb(Math.max(...rss))}; ` +
          `growth after warm-up ${mb(growth)} (limit ${MAX_GROWTH_MB} MB); peaks first/second half ${mb(firstPeak)} / ${mb(secondPeak)} ` +
          `(slack ${mb(plateauSlack)}); second-half trend ${secondHalfSlope.toFixed(2)} MB/min`,
        `RSS series (s: RSS MB, heap used MB${step > 1 ? `; every ${step}th of ${samples.length} samples` : ''}): ` +
          samples
            .filter((_, i) => i % step === 0 || i === samples.length - 1)
            .map((s) => `${s.t.toFixed(0)}: ${(s.rss / MB).toFixed(0)}, ${(s.heapUsed / MB).toFixed(0)}`)
            .join(' | '),
        `stalls (intervals with a review over 50 ms or an event-loop stall over 50 ms; s: egress-guard / test process max stall ms, slow reviews): ` +
          (stalls.length === 0
            ? 'none'
            : stalls
                .map((s) => `${s.t.toFixed(0)}: ${s.serverLagMs.toFixed(0)}/${s.clientLagMs.toFixed(0)}/${s.slow}`)
                .join(' | ')),
      );

      expect(failures.slice(0, 5)).toEqual([]);
      expect(sent.sent).toBeGreaterThanOrEqual(Math.floor(RATE * SOAK_SECONDS * 0.95));
      expect(latencies.length).toBe(sent.sent);
      expect(counted).toBe(sent.sent);
      expect(rejected).toBe(0);
      expect(latency.max).toBeLessThan(WEBHOOK_TIMEOUT_MS);
      expect(churnErrors).toEqual([]);
      expect(rounds).toBeGreaterThanOrEqual(Math.floor(SOAK_SECONDS / CHURN_SECONDS / 2));
      expect(samples.filter((s) => s.stale !== 0)).toEqual([]);
      expect(steady.length).toBeGreaterThanOrEqual(4);
      // Bounded: after warm-up, RSS grows by less than MAX_GROWTH_MB over the whole run...
      expect(growth).toBeLessThan(MAX_GROWTH_MB * MB);
      // ...and plateaus: the second half sets no new high beyond the slack. A leak keeps setting new highs; a
      // healthy heap reaches its working size and then saws up and down below it (peaks compare well where a
      // straight-line fit through a GC sawtooth would be noise).
      expect(secondPeak).toBeLessThanOrEqual(firstPeak + plateauSlack);
    },
    (SOAK_SECONDS + 150) * 1_000,
  );
});
