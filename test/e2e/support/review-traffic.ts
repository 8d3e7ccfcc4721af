// Admission traffic straight to egress-guard's HTTPS listener, as the API server sends it (keep-alive, one
// AdmissionReview per POST, a timeout per call), plus egress-guard's ops endpoints (/readyz, /metrics) and the
// arithmetic the outage and soak tests report with. The API server is not in the path: these tests keep sending
// while it is down, or faster than kubectl could.
import { Agent, request } from 'node:https';
import { get } from 'node:http';
import { parseMetrics, type Sample } from './apiserver-metrics.js';

// ---------------------------------------------------------------- ops endpoints

export interface OpsReply {
  status: number;
  body: string;
}

/** GET http://127.0.0.1:<opsPort><path>; status 0 and the error in body when the connection failed. */
export function opsGet(opsPort: number, path: string, timeoutMs = 2_000): Promise<OpsReply> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port: opsPort, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => resolve({ status: 0, body: error.message }));
    });
    req.on('error', (error) => resolve({ status: 0, body: error.message }));
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
  });
}

export interface ReadyzReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export interface Readyz {
  status: number;
  report?: ReadyzReport;
  /** The cluster index's check (`checks['cluster-cache']`). */
  cache?: { ok: boolean; detail: string };
  at: number;
}

export async function readyz(opsPort: number): Promise<Readyz> {
  const at = performance.now();
  const reply = await opsGet(opsPort, '/readyz');
  try {
    const report = JSON.parse(reply.body) as ReadyzReport;
    const cache = report.checks?.['cluster-cache'];
    return { status: reply.status, report, ...(cache ? { cache } : {}), at };
  } catch {
    return { status: reply.status, at };
  }
}

export async function scrape(opsPort: number): Promise<Sample[]> {
  const reply = await opsGet(opsPort, '/metrics');
  if (reply.status !== 200)
    throw new Error(`GET /metrics on :${opsPort} -> ${reply.status} ${reply.body.slice(0, 200)}`);
  return parseMetrics(reply.body);
}

/** The value of the first sample called `name` whose labels include `labels`. */
export function metricValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** Sum over every sample called `name` whose labels include `labels` (0 when none). */
export function metricSum(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

// ---------------------------------------------------------------- reviews

export interface AdmissionReply {
  uid?: unknown;
  allowed?: unknown;
  status?: { code?: number; reason?: string; message?: string };
  warnings?: string[];
  patchType?: string;
  patch?: string;
}

export interface ReviewResult {
  uid: string;
  path: string;
  /** performance.now() when the request was created. */
  startedAt: number;
  latencyMs: number;
  status?: number;
  /** `response` of a well-formed AdmissionReview reply (kind AdmissionReview, admission.k8s.io/v1). */
  response?: AdmissionReply;
  /** Transport failure, timeout, or a body that is not an AdmissionReview. */
  error?: string;
  reusedSocket?: boolean;
}

export interface ReviewClientOptions {
  /** PEM of the CA that signed egress-guard's serving certificate. */
  ca: string;
  /** Per request, like the webhook's timeoutSeconds (5 s in deploy/base/webhooks.yaml). */
  timeoutMs?: number;
  /** Connections kept open to egress-guard (the API server keeps a pool per webhook client too). */
  maxSockets?: number;
}

/** A keep-alive HTTPS client for AdmissionReviews. send() never rejects; everything that went wrong is in the result. */
export class ReviewClient {
  readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(
    private readonly baseUrl: string,
    private readonly options: ReviewClientOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8, ca: options.ca });
  }

  /** POSTs `review` (an AdmissionReview whose request.uid is set) to `path`. */
  send(path: string, review: { request: { uid: string } }): Promise<ReviewResult> {
    const uid = review.request.uid;
    const body = JSON.stringify(review);
    const startedAt = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      let reusedSocket: boolean | undefined;
      const done = (result: Partial<ReviewResult>) => {
        if (settled) return;
        settled = true;
        resolve({
          uid,
          path,
          startedAt,
          latencyMs: performance.now() - startedAt,
          ...(reusedSocket === undefined ? {} : { reusedSocket }),
          ...result,
        });
      };
      const req = request(
        `${this.baseUrl}${path}`,
        {
          method: 'POST',
          agent: this.agent,
          ca: this.options.ca,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => done({ status: res.statusCode, error: `response: ${error.message}` }));
          res.on('end', () => {
            const status = res.statusCode;
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              const parsed = JSON.parse(text) as { apiVersion?: unknown; kind?: unknown; response?: AdmissionReply };
              if (
                parsed.kind !== 'AdmissionReview' ||
                parsed.apiVersion !== 'admission.k8s.io/v1' ||
                typeof parsed.response !== 'object' ||
                parsed.response === null
              ) {
                done({
                  ...(status === undefined ? {} : { status }),
                  error: `not an AdmissionReview: ${text.slice(0, 200)}`,
                });
              } else {
                done({ ...(status === undefined ? {} : { status }), response: parsed.response });
              }
            } catch {
              done({ ...(status === undefined ? {} : { status }), error: `not JSON: ${text.slice(0, 200)}` });
            }
          });
        },
      );
      req.on('socket', () => (reusedSocket = req.reusedSocket));
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) =>
        done({ error: error.code ? `${error.code}: ${error.message}` : error.message }),
      );
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Problems with a reply that every answer must pass: HTTP 200, an AdmissionReview, this uid, allowed a boolean. */
export function wireProblems(result: ReviewResult): string[] {
  if (result.error !== undefined) return [result.error];
  const problems: string[] = [];
  if (result.status !== 200) problems.push(`HTTP ${result.status}`);
  if (result.response?.uid !== result.uid) problems.push(`uid ${String(result.response?.uid)} != ${result.uid}`);
  if (typeof result.response?.allowed !== 'boolean') problems.push(`allowed is ${typeof result.response?.allowed}`);
  return problems;
}

/** The decoded JSON patch of a reply, or undefined. */
export function decodedPatch(
  response: AdmissionReply | undefined,
): { op: string; path: string; value?: unknown }[] | undefined {
  if (response?.patchType !== 'JSONPatch' || typeof response.patch !== 'string') return undefined;
  try {
    const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as unknown;
    return Array.isArray(patch) ? (patch as { op: string; path: string; value?: unknown }[]) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- fixed-rate load

export interface FixedRateOptions {
  /** Requests per second, on a schedule (open loop): a slow answer does not slow the sender down. */
  rate: number;
  /** Checked every tick; sending stops once it returns true. */
  stop: () => boolean;
  /** Starts request number i; its promise is awaited before atFixedRate resolves. */
  fire: (i: number) => Promise<unknown>;
  /** Scheduler tick (default 5 ms). Each tick sends every request that is due, so the rate holds despite timer drift. */
  tickMs?: number;
}

/** Sends at `rate` until `stop()`, then waits for the outstanding answers. Resolves with how many were sent and over how long. */
export async function atFixedRate(
  options: FixedRateOptions,
): Promise<{ sent: number; seconds: number; maxBacklog: number }> {
  const inFlight = new Set<Promise<unknown>>();
  const started = performance.now();
  let sent = 0;
  let maxBacklog = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (options.stop()) {
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor(((performance.now() - started) * options.rate) / 1000);
      maxBacklog = Math.max(maxBacklog, due - sent);
      while (sent < due) {
        const p = options.fire(sent++).catch(() => undefined);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
    }, options.tickMs ?? 5);
  });
  const seconds = (performance.now() - started) / 1000;
  await Promise.all([...inFlight]);
  return { sent, seconds, maxBacklog };
}

// ---------------------------------------------------------------- arithmetic

/** Nearest-rank percentile (q in [0, 1]) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  return {
    count: latenciesMs.length,
    p50: percentile(latenciesMs, 0.5),
    p99: percentile(latenciesMs, 0.99),
    max: latenciesMs.length === 0 ? Number.NaN : Math.max(...latenciesMs),
  };
}

export function formatSummary(s: LatencySummary): string {
  const ms = (v: number) => (Number.isNaN(v) ? '-' : `${v.toFixed(1)} ms`);
  return `n=${s.count} p50=${ms(s.p50)} p99=${ms(s.p99)} max=${ms(s.max)}`;
}

/** Least-squares slope of y over x (units of y per unit of x); NaN for fewer than two points. */
export function slope(points: readonly { x: number; y: number }[]): number {
  if (points.length < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** Polls `probe` until it returns something other than undefined/false; resolves with it and the time taken. */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs: number,
  intervalMs = 50,
): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return { value, ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** What beforeAll set up, or a clear failure when it did not get that far (instead of an undefined deep inside a test). */
export function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start (see beforeAll)`);
  return value;
}
