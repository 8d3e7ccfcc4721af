// The API server's own view of our webhooks, from its Prometheus /metrics (`kubectl get --raw /metrics`):
// apiserver_admission_webhook_admission_duration_seconds (a histogram, labels name/operation/rejected/type) and
// the counters next to it. Quantiles are estimated from the cumulative buckets the way PromQL's
// histogram_quantile does: linear interpolation inside the bucket that holds the rank.
import { Agent, request as httpsRequest } from 'node:https';
import type { Cluster } from '../cluster.js';

export const DURATION_HISTOGRAM = 'apiserver_admission_webhook_admission_duration_seconds';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of the text exposition format; comments and malformed lines are skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#') || raw.trim() === '') continue;
    const m = line.exec(raw.trim());
    if (!m?.[1] || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(label)) {
      if (l[1] !== undefined && l[2] !== undefined)
        labels[l[1]] = l[2].replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

export interface Bucket {
  le: number;
  /** Cumulative count of observations <= le. */
  count: number;
}

export interface HistogramSummary {
  webhook: string;
  count: number;
  sumSeconds: number;
  buckets: Bucket[];
  /** Observations by "operation/type/rejected", e.g. "CREATE/admit/false". */
  byLabels: Record<string, number>;
}

/** One webhook's histogram, summed over its other labels (operation, type, rejected). */
export function histogramFor(samples: readonly Sample[], metric: string, webhook: string): HistogramSummary {
  const mine = samples.filter((s) => s.labels.name === webhook);
  const buckets = new Map<number, number>();
  let count = 0;
  let sumSeconds = 0;
  const byLabels: Record<string, number> = {};
  for (const s of mine) {
    if (s.name === `${metric}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    } else if (s.name === `${metric}_count`) {
      count += s.value;
      const key = `${s.labels.operation ?? '?'}/${s.labels.type ?? '?'}/rejected=${s.labels.rejected ?? '?'}`;
      byLabels[key] = (byLabels[key] ?? 0) + s.value;
    } else if (s.name === `${metric}_sum`) {
      sumSeconds += s.value;
    }
  }
  return {
    webhook,
    count,
    sumSeconds,
    buckets: [...buckets.entries()].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le),
    byLabels,
  };
}

/**
 * PromQL histogram_quantile on cumulative buckets: find the first bucket whose count reaches q * total and
 * interpolate linearly between its lower and upper bound (lower bound 0 for the first bucket). A rank in the
 * +Inf bucket returns the highest finite bound. NaN without observations.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  if (buckets.length < 2 || buckets[buckets.length - 1]?.le !== Infinity) return NaN;
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * total;
  const index = buckets.findIndex((b) => b.count >= rank);
  const bucket = buckets[index];
  if (bucket === undefined) return NaN;
  if (bucket.le === Infinity) return buckets[buckets.length - 2]?.le ?? NaN;
  const lower = index === 0 ? 0 : (buckets[index - 1]?.le ?? 0);
  const below = index === 0 ? 0 : (buckets[index - 1]?.count ?? 0);
  const inBucket = bucket.count - below;
  if (index === 0 && bucket.le <= 0) return bucket.le;
  return inBucket === 0 ? bucket.le : lower + (bucket.le - lower) * ((rank - below) / inBucket);
}

/** Sum of a counter's samples with name=webhook, grouped by one label. */
export function counterBy(
  samples: readonly Sample[],
  metric: string,
  webhook: string,
  label: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== metric || s.labels.name !== webhook) continue;
    const key = s.labels[label] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

export async function readApiserverMetrics(cluster: Cluster): Promise<Sample[]> {
  const { stdout } = await cluster.kubectl(['get', '--raw', '/metrics'], { timeoutMs: 30_000 });
  return parseMetrics(stdout);
}

const ms = (seconds: number): string =>
  Number.isFinite(seconds) ? `${(seconds * 1000).toFixed(1)} ms` : String(seconds);

/** A block of text for the end of the run: p50/p99 and counts per webhook, as the API server measured them. */
export function formatWebhookLatency(samples: readonly Sample[], webhooks: readonly string[]): string {
  const lines = [
    '==================== kube-apiserver: admission webhook latency (as the API server measured it) ====================',
    `metric ${DURATION_HISTOGRAM}; quantiles estimated from the buckets like histogram_quantile (linear interpolation)`,
  ];
  for (const webhook of webhooks) {
    const h = histogramFor(samples, DURATION_HISTOGRAM, webhook);
    const p50 = histogramQuantile(0.5, h.buckets);
    const p99 = histogramQuantile(0.99, h.buckets);
    const mean = h.count > 0 ? h.sumSeconds / h.count : NaN;
    lines.push(
      `${webhook}: count ${h.count}, p50 ${ms(p50)}, p99 ${ms(p99)}, mean ${ms(mean)} (sum ${h.sumSeconds.toFixed(4)} s)`,
      `  by operation/type/rejected: ${JSON.stringify(h.byLabels)}`,
      `  buckets (le: cumulative): ${h.buckets.map((b) => `${b.le === Infinity ? '+Inf' : b.le}:${b.count}`).join(' ')}`,
    );
    const requests = counterBy(samples, 'apiserver_admission_webhook_request_total', webhook, 'code');
    if (Object.keys(requests).length > 0)
      lines.push(`  apiserver_admission_webhook_request_total by code: ${JSON.stringify(requests)}`);
    const rejections = counterBy(samples, 'apiserver_admission_webhook_rejection_count', webhook, 'error_type');
    if (Object.keys(rejections).length > 0)
      lines.push(`  apiserver_admission_webhook_rejection_count by error_type: ${JSON.stringify(rejections)}`);
    const failOpen = counterBy(samples, 'apiserver_admission_webhook_fail_open_count', webhook, 'type');
    if (Object.keys(failOpen).length > 0)
      lines.push(`  apiserver_admission_webhook_fail_open_count: ${JSON.stringify(failOpen)}`);
  }
  lines.push('='.repeat(112));
  return lines.join('\n');
}

/** One request to the API server's REST API as the admin user (for a burst of reviews without kubectl's start-up cost). */
export function apiserverRequest(
  cluster: Cluster,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const url = new URL(path, cluster.apiserverUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: cluster.caPem,
        agent: keepAlive,
        headers: {
          authorization: `Bearer ${cluster.adminToken}`,
          accept: 'application/json',
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.end(payload);
  });
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });

/** Closes the keep-alive connections apiserverRequest opened (afterAll). */
export function closeApiserverConnections(): void {
  keepAlive.destroy();
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at a time; resolves with the results in order. */
export async function burst<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return results;
}
