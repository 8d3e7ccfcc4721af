// An API-server outage as the production process lives through it: egress-guard (node dist/src/main.js, with
// KUBECONFIG, so its cluster-wide index of ServiceEntries and DestinationRules is live) watches a real
// kube-apiserver, which is then killed (SIGKILL: a crash; SIGTERM: a rolling upgrade) and restarted.
//
// Admission reviews go straight to egress-guard over HTTPS (keep-alive, a 5 s timeout per call like the webhooks'
// timeoutSeconds) at a fixed rate before, during and after the outage: while the API server is down it cannot
// call any webhook, but other API servers of an HA control plane can, and they must get answers at once, from the
// last known state, marked as possibly stale. The webhook configurations are not registered: every review here
// is sent by the test, so each answer can be checked.
//
// Run: npm run build && node --experimental-vm-modules node_modules/jest/bin/jest.js \
//        --config test/e2e/jest.config.js --runInBand test/e2e/outage.test.ts
// OUTAGE_SECONDS (default 8) sets how long the API server stays down, OUTAGE_RATE (default 60) the reviews/s.
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
  metricValue,
  pollUntil,
  readyz,
  scrape,
  summarize,
  wireProblems,
  type Readyz,
  type ReviewResult,
  started,
} from './support/review-traffic.js';

const NAMESPACE = 'external';
const OUTAGE_SECONDS = Number(process.env.OUTAGE_SECONDS ?? 8);
const RATE = Number(process.env.OUTAGE_RATE ?? 60);
/** The webhooks' timeoutSeconds in deploy/base/webhooks.yaml: an answer later than this is no answer. */
const WEBHOOK_TIMEOUT_MS = 5_000;
/**
 * Reviews during the outage answer from memory: no I/O on their path, so milliseconds (a review waiting on the API
 * server would take seconds). 100 ms leaves room for a loaded 2-core CI machine; OUTAGE_P99_MS overrides it. The
 * report shows this process's own event-loop stalls during the outage, to tell contention from a slow server.
 */
const OUTAGE_P99_MS = Number(process.env.OUTAGE_P99_MS ?? 100);
/** No single answer during the outage may come near a connect or list timeout. */
const OUTAGE_MAX_MS = 1_000;
/** The watch notices a dead API server when its connections break: well under this. */
const STALE_WITHIN_MS = 5_000;
/**
 * The watch retries with DEFAULT_BACKOFF (src/cluster/backoff.ts): 1 s doubling, jittered, capped at 30 s, and the
 * attempt count only starts over after 60 s of health. An 8 s outage plus a restart (during which the API server
 * answers 503 for a moment, another failure) takes it to the 8-16 s step; the SIGTERM case, less than a minute after
 * the SIGKILL case recovered, starts where that one left off and reaches the 30 s cap. So the retry pending when the
 * API server is back may be up to 30 s away: recovery must come within the cap plus a relist and some slack.
 */
const RECOVER_WITHIN_MS = 40_000;
const STALE_NOTE = '(cluster view may be stale)';

type Phase = 'before' | 'stopping' | 'stale' | 'restarting' | 'after';
type Kind = 'duplicate' | 'wildcard' | 'pod';

interface Tagged extends ReviewResult {
  kind: Kind;
  /** The phase when the request was sent and when its answer came. */
  sentIn: Phase;
  answeredIn: Phase;
}

let cluster: Cluster | undefined;
let guard: EgressGuard | undefined;
let client: ReviewClient | undefined;
const report: string[] = [];

const k = (): Cluster => started(cluster, 'the cluster');
const g = (): EgressGuard => started(guard, 'egress-guard');
const c = (): ReviewClient => started(client, 'the review client');

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

const apply = (object: unknown) => k().kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(object) });

/** A third ServiceEntry for `host` (port 443), as the API server would send it for review. */
function duplicateReview(host: string) {
  return serviceEntryReview(serviceEntry('third', [host], [443]), { namespace: NAMESPACE, uid: randomUUID() });
}
const wildcardReview = () =>
  serviceEntryReview(serviceEntry('wild', ['*.wild.example.com'], [443]), { namespace: NAMESPACE, uid: randomUUID() });
const podReview = () => review(replicaSetPod(), { uid: randomUUID(), namespace: 'shop' });

/** The duplicate-host warning of a reply, if any. */
function duplicateWarning(result: ReviewResult): string | undefined {
  return result.response?.warnings?.find((warning) => warning.includes(' is also declared by '));
}

/** What is wrong with an answer of this kind; `others` is the ServiceEntry the duplicate-host warning must name. */
function contentProblems(result: Tagged, others: string): string[] {
  const problems = wireProblems(result);
  if (problems.length > 0) return problems;
  const response = result.response;
  switch (result.kind) {
    case 'duplicate': {
      const warning = duplicateWarning(result);
      if (response?.allowed !== true) problems.push(`denied: ${response?.status?.message}`);
      if (!warning?.includes(`is also declared by ${others}`))
        problems.push(`no duplicate-host warning naming ${others}: ${JSON.stringify(response?.warnings)}`);
      const stale = warning?.includes(STALE_NOTE) === true;
      // Either is right while the watch is finding out (stopping) or catching up (restarting).
      if (result.sentIn === 'stale' && result.answeredIn === 'stale' && !stale)
        problems.push(`not marked stale during the outage: ${warning}`);
      if ((result.sentIn === 'before' || result.sentIn === 'after') && result.sentIn === result.answeredIn && stale)
        problems.push(`marked stale while in sync: ${warning}`);
      break;
    }
    case 'wildcard':
      if (
        response?.allowed !== false ||
        !/wildcard hosts cannot use resolution DNS/.test(response.status?.message ?? '')
      ) {
        problems.push(`wildcard + DNS not denied: ${JSON.stringify(response)}`);
      }
      break;
    case 'pod':
      if (!decodedPatch(response)?.some((op) => op.path === '/metadata/annotations/proxy.istio.io~1config')) {
        problems.push(`pod not patched: ${JSON.stringify(response)}`);
      }
      break;
  }
  return problems;
}

beforeAll(async () => {
  // Without this flag (default 0) a SIGTERMed kube-apiserver keeps open watches, ours included, until its shutdown
  // timeout (60 s): it does not exit within the harness's 15 s before SIGKILL, and the SIGTERM case would be the
  // SIGKILL case 15 s later. With it, watches are ended after at most 2 s and the server exits in about a second.
  cluster = await startCluster({ apiserverArgs: ['--shutdown-watch-termination-grace-period=2s'] });
  await installIstioCrds(cluster);
  await cluster.kubectl(['create', 'namespace', NAMESPACE]);
  const certificates = await makeCertificates(join(cluster.dir, 'egress-guard-certs'));
  // startEgressGuard returns once /readyz says 200: with KUBECONFIG, after the first full list.
  guard = await startEgressGuard({
    kubeconfigPath: cluster.kubeconfigPath,
    certificates,
    logFile: join(cluster.logDir, 'egress-guard.log'),
  });
  client = new ReviewClient(guard.baseUrl, {
    ca: readFileSync(certificates.caCert, 'utf8'),
    timeoutMs: WEBHOOK_TIMEOUT_MS,
  });
});

afterAll(async () => {
  try {
    if (report.length > 0)
      console.log(`==================== API-server outage ====================\n${report.join('\n')}`);
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

describe('egress-guard through an API-server outage', () => {
  it('is ready, synced and in sync before the outage', async () => {
    const before = await readyz(g().opsPort);
    expect(before).toMatchObject({
      status: 200,
      report: { ready: true },
      cache: { ok: true, detail: expect.stringMatching(/^in sync since /) },
    });
    const metrics = await scrape(g().opsPort);
    expect(metricValue(metrics, 'egress_guard_cluster_cache_synced')).toBe(1);
    expect(metricValue(metrics, 'egress_guard_cluster_cache_stale')).toBe(0);
  });

  for (const [index, signal] of (['SIGKILL', 'SIGTERM'] as const).entries()) {
    it(`${signal} of the API server: answers at once from the last known state, says so, and catches up after the restart`, async () => {
      // Two ServiceEntries for one host with different ports: a third for that host gets duplicate-host.
      const host = `d${index}.example.com`;
      const others = `${NAMESPACE}/a${index}`;
      await apply(serviceEntry(`a${index}`, [host], [443]));
      await apply(serviceEntry(`b${index}`, [host], [8443]));
      const seen = await pollUntil(
        async () => {
          const result = await c().send('/validate/serviceentries', duplicateReview(host));
          return duplicateWarning(result)?.includes(`is also declared by ${others}`) ? result : undefined;
        },
        `a duplicate-host warning for ${host}`,
        10_000,
      );
      expect(duplicateWarning(seen.value)).not.toContain(STALE_NOTE);

      // Background: reviews at a fixed rate, and /readyz + /metrics polled, all tagged with the phase.
      let phase: Phase = 'before';
      const results: Tagged[] = [];
      const kinds: Kind[] = ['duplicate', 'wildcard', 'pod'];
      let sending = true;
      const traffic = atFixedRate({
        rate: RATE,
        stop: () => !sending,
        fire: async (i) => {
          const kind = kinds[i % kinds.length] ?? 'pod';
          const sentIn = phase;
          const result =
            kind === 'pod'
              ? await c().send('/mutate/pods', podReview())
              : await c().send(
                  '/validate/serviceentries',
                  kind === 'duplicate' ? duplicateReview(host) : wildcardReview(),
                );
          results.push({ ...result, kind, sentIn, answeredIn: phase });
        },
      });
      const probes: (Readyz & { phase: Phase | 'between'; stale?: number | undefined; synced?: number | undefined })[] =
        [];
      let probing = true;
      const prober = (async () => {
        while (probing) {
          const at = phase;
          const [ready, metrics] = await Promise.all([readyz(g().opsPort), scrape(g().opsPort).catch(() => [])]);
          probes.push({
            ...ready,
            phase: at === phase ? at : 'between', // straddling a phase change: only the always-true checks apply
            stale: metricValue(metrics, 'egress_guard_cluster_cache_stale'),
            synced: metricValue(metrics, 'egress_guard_cluster_cache_synced'),
          });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();

      try {
        await new Promise((resolve) => setTimeout(resolve, 1_000)); // a baseline with the API server up

        phase = 'stopping';
        const stoppedAt = performance.now();
        await k().stopApiserver({ signal });
        const exitedMs = performance.now() - stoppedAt;
        const staleAfter = await pollUntil(
          async () => {
            const r = await readyz(g().opsPort);
            return r.cache?.detail.startsWith('stale since ') ? r : undefined;
          },
          '/readyz to report the cluster cache stale',
          STALE_WITHIN_MS,
          20,
        );
        const staleMs = staleAfter.value.at - stoppedAt;
        /** From the API server's exit (the SIGTERM case may notice it before the exit: its watches end first). */
        const staleAfterExitMs = staleAfter.value.at - (stoppedAt + exitedMs);
        phase = 'stale';
        const staleSince = performance.now();
        const ownStalls = monitorEventLoopDelay({ resolution: 10 });
        ownStalls.enable();
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_SECONDS * 1_000));
        ownStalls.disable();
        const ownStallMs = ownStalls.max / 1e6;

        phase = 'restarting';
        const restartAt = performance.now();
        await k().startApiserver();
        const apiserverReadyAt = performance.now();
        const recovered = await pollUntil(
          async () => {
            const r = await readyz(g().opsPort);
            return r.cache?.detail.startsWith('in sync since ') ? r : undefined;
          },
          '/readyz to report the cluster cache in sync again',
          RECOVER_WITHIN_MS,
          50,
        );
        const recoveredMs = recovered.value.at - apiserverReadyAt;
        phase = 'after';
        const outageMs = restartAt - staleSince;

        // A ServiceEntry created after the restart reaches the index: its duplicate-host effect shows in a review.
        const newHost = `new${index}.example.com`;
        const createdAt = performance.now();
        await apply(serviceEntry(`after${index}`, [newHost], [8443]));
        const visible = await pollUntil(
          async () => {
            const result = await c().send('/validate/serviceentries', duplicateReview(newHost));
            return duplicateWarning(result)?.includes(`is also declared by ${NAMESPACE}/after${index}`)
              ? result
              : undefined;
          },
          `a duplicate-host warning naming ${NAMESPACE}/after${index}`,
          10_000,
          25,
        );
        expect(duplicateWarning(visible.value)).not.toContain(STALE_NOTE);
        const visibleMs = performance.now() - createdAt;
        await new Promise((resolve) => setTimeout(resolve, 1_000)); // a tail of traffic with the API server back

        sending = false;
        probing = false;
        await Promise.all([traffic, prober]);

        // ---- every review answered, within its timeout, with the right content for its phase
        const failures = results
          .map((result) => ({ result, problems: contentProblems(result, others) }))
          .filter((f) => f.problems.length > 0);
        const latency = (filter: (r: Tagged) => boolean) => summarize(results.filter(filter).map((r) => r.latencyMs));
        const all = latency(() => true);
        const during = latency((r) => r.sentIn === 'stale' && r.answeredIn === 'stale');
        const byPhase = (['before', 'stopping', 'stale', 'restarting', 'after'] as const).map(
          (p) => `${p}: ${formatSummary(latency((r) => r.sentIn === p))}`,
        );
        const duringByKind = kinds.map(
          (kind) => `${kind}: ${formatSummary(latency((r) => r.kind === kind && r.sentIn === 'stale'))}`,
        );

        // ---- /readyz throughout: always 200 and ready; the detail follows the watch
        const notReady = probes.filter((p) => p.status !== 200 || p.report?.ready !== true);
        const staleProbes = probes.filter((p) => p.phase === 'stale');
        const wrongDuring = staleProbes.filter(
          (p) =>
            !/^stale since \S+: .*answering from the last known state/.test(p.cache?.detail ?? '') || p.stale !== 1,
        );
        const wrongBefore = probes.filter(
          (p) => p.phase === 'before' && (!p.cache?.detail.startsWith('in sync since ') || p.stale !== 0),
        );
        const wrongAfter = probes.filter(
          (p) => p.phase === 'after' && (!p.cache?.detail.startsWith('in sync since ') || p.stale !== 0),
        );
        const notSynced = probes.filter((p) => p.synced !== 1);

        report.push(
          `${signal}: API server exited ${exitedMs.toFixed(0)} ms after the signal; /readyz said stale ${staleMs.toFixed(0)} ms after the signal, ` +
            `${staleAfterExitMs.toFixed(0)} ms after the exit ` +
            `("${staleAfter.value.cache?.detail}")`,
          `${signal}: down for ${((restartAt - stoppedAt) / 1000).toFixed(1)} s (${(outageMs / 1000).toFixed(1)} s of it stale before the restart began); ` +
            `restart took ${(apiserverReadyAt - restartAt).toFixed(0)} ms; in sync again ${recoveredMs.toFixed(0)} ms after the API server's /readyz passed ` +
            `(${(recovered.value.at - restartAt).toFixed(0)} ms after the restart began)`,
          `${signal}: a ServiceEntry created after the restart showed in a review ${visibleMs.toFixed(0)} ms after kubectl apply began`,
          `${signal}: ${results.length} reviews at ${RATE}/s, ${failures.length} wrong; all: ${formatSummary(all)}`,
          `${signal}: by phase sent: ${byPhase.join('; ')}`,
          `${signal}: during the outage by kind: ${duringByKind.join('; ')}; longest event-loop stall of this test process meanwhile: ${ownStallMs.toFixed(0)} ms`,
          `${signal}: /readyz probes: ${probes.length} (${staleProbes.length} during the outage), not ready: ${notReady.length}, ` +
            `egress_guard_cluster_cache_stale 1 in ${staleProbes.filter((p) => p.stale === 1).length}/${staleProbes.length} outage probes`,
        );

        expect(
          failures.slice(0, 5).map((f) => ({
            kind: f.result.kind,
            sentIn: f.result.sentIn,
            latencyMs: Math.round(f.result.latencyMs),
            problems: f.problems,
          })),
        ).toEqual([]);
        expect(results.length).toBeGreaterThan(RATE * OUTAGE_SECONDS * 0.8);
        expect(during.count).toBeGreaterThan(RATE * OUTAGE_SECONDS * 0.8);
        expect(all.max).toBeLessThan(WEBHOOK_TIMEOUT_MS);
        expect(during.p99).toBeLessThan(OUTAGE_P99_MS);
        expect(during.max).toBeLessThan(OUTAGE_MAX_MS);
        expect(exitedMs).toBeLessThan(10_000); // else the harness's SIGKILL ended it, and this was not a graceful stop
        expect(staleAfterExitMs).toBeLessThan(STALE_WITHIN_MS);
        expect(notReady).toEqual([]);
        expect(notSynced.length).toBe(0);
        expect(staleProbes.length).toBeGreaterThan(10);
        expect(wrongDuring.slice(0, 3)).toEqual([]);
        expect(wrongBefore.slice(0, 3)).toEqual([]);
        expect(wrongAfter.slice(0, 3)).toEqual([]);
        const metrics = await scrape(g().opsPort);
        expect(metricValue(metrics, 'egress_guard_cluster_cache_stale')).toBe(0);
      } finally {
        sending = false;
        probing = false;
        await Promise.all([traffic, prober]);
        // Leave the API server up for the next test, whatever failed.
        await k().startApiserver();
      }
    });
  }

  it('logged the outage: a warning when stale, info when current again, and nothing at error level or above', () => {
    const lines = g().logLines();
    const stale = lines.filter((line) => line.msg.startsWith('cluster index may be stale')).length;
    expect(stale).toBeGreaterThanOrEqual(2);
    expect(lines.filter((line) => line.msg.startsWith('cluster index current again')).length).toBe(stale);
    expect(lines.filter((line) => line.level >= 50).map((line) => line.msg)).toEqual([]);
  });
});
