// One request must not take the webhook down: each shape found by probing it as an attacker inside the cluster network
// would, sent to the production entry point in its own process under the Deployment's heap cap, while an API
// server-like client sends ordinary pod reviews on a keep-alive connection and a kubelet-like client probes /healthz.
// Asserted: the attack gets its clear answer, every ordinary review and probe is answered within the timeouts the API
// server (5 s) and kubelet (2 s) apply, peak RSS stays under the container's memory limit, nothing is logged as an error. The latencies measured
// are written to a JSON report (ATTACK_REPORT, or egress-guard-attacks.json in the temp directory) for the README.
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ossServiceEntry, replicaSetPod, review, serviceEntryReview } from '../fixtures/reviews.js';
import { sleep } from '../support/wait.js';
import { MEMORY_LIMIT_MIB, post, startAttackServer, type AttackServer, type Reply } from './attack-server.js';

const MiB = 1024 * 1024;
/** How long each attack is repeated while the ordinary reviews are measured. */
const ATTACK_MS = 1500;
/**
 * A body whose Content-Length is over the limit (413) or over the large-body budget (429) is answered at once and the
 * connection closed: a client still writing may see the reset (EPIPE, ECONNRESET) before it reads the answer.
 * Counted as status 0.
 */
const REFUSED_WHILE_SENDING = 0;
const REPORT = process.env.ATTACK_REPORT ?? join(tmpdir(), 'egress-guard-attacks.json');

/** A review's JSON with `raw` (already JSON) in place of the pod's `padding` field: built as text, never as objects. */
function podWith(raw: string, metadata: Record<string, unknown> = {}): string {
  const pod = replicaSetPod();
  const body = review({ ...pod, metadata: { ...pod.metadata, ...metadata }, padding: '__PAD__' });
  return JSON.stringify(body).replace('"__PAD__"', raw);
}
const repeated = (unit: string, count: number) => `[${new Array<string>(count).fill(unit).join(',')}]`;
const distinctKeys = (count: number) =>
  `[${Array.from({ length: count }, (_, index) => `{"k${index.toString(36)}":0}`).join(',')}]`;
const hosts = (count: number) =>
  JSON.stringify(
    serviceEntryReview({ ...ossServiceEntry('DNS'), spec: { ...ossServiceEntry('DNS').spec, hosts: '__H__' } }),
  ).replace('"__H__"', `[${Array.from({ length: count }, (_, index) => `"h${index.toString(36)}.e.com"`).join(',')}]`);
function nestedKind(depth: number): string {
  return `{"apiVersion":"admission.k8s.io/v1","kind":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}
const annotated = (text: string) =>
  JSON.stringify(review(replicaSetPod({ annotations: { 'proxy.istio.io/config': text } })));

interface Attack {
  name: string;
  path: string;
  body: () => string;
  /** Statuses the attack may get. */
  expect: number[];
  /** How many of it are sent at once. */
  concurrency?: number;
  check?: (reply: Reply, server: AttackServer) => void;
}

const ATTACKS: Attack[] = [
  {
    name: '7 MiB of empty objects in a pod review (2.4 million)',
    path: '/mutate/pods',
    body: () => podWith(repeated('{}', 2_440_000)),
    expect: [413, REFUSED_WHILE_SENDING],
  },
  {
    name: 'just under the 6 MiB body limit, all empty objects (2 million)',
    path: '/mutate/pods',
    body: () => podWith(repeated('{}', 2_090_000)),
    expect: [413],
  },
  {
    name: 'the most empty objects accepted (49,000)',
    path: '/mutate/pods',
    body: () => podWith(repeated('{}', 49_000)),
    expect: [200],
  },
  {
    name: 'the most objects with distinct keys accepted (4,900, each a new hidden class)',
    path: '/mutate/pods',
    body: () => podWith(`[${distinctKeys(4_900)},"${'x'.repeat(128 * 1024)}"]`),
    expect: [200],
  },
  {
    name: 'four at once: 62 KiB bodies (not scanned) of 5,500 objects with distinct keys',
    path: '/mutate/pods',
    body: () => podWith(distinctKeys(5_500)),
    concurrency: 4,
    expect: [200],
  },
  {
    name: 'a 5.9 MiB body of 5,001 distinct keys',
    path: '/mutate/pods',
    body: () => podWith(`[${distinctKeys(5_001)},"${'x'.repeat(6 * MiB - 128 * 1024)}"]`),
    expect: [413],
  },
  {
    name: 'a ServiceEntry with 1.05 million hosts (7 MiB)',
    path: '/validate/serviceentries',
    body: () => hosts(1_050_000),
    expect: [413, REFUSED_WHILE_SENDING],
  },
  {
    name: 'a ServiceEntry with 99,000 hosts (1.2 MiB, under the value cap)',
    path: '/validate/serviceentries',
    body: () => hosts(99_000),
    expect: [200],
    check: (reply) =>
      expect(JSON.parse(reply.body).response).toMatchObject({
        allowed: false,
        status: { message: expect.stringContaining('spec.hosts has 99000 items; at most 256 are reviewed') },
      }),
  },
  {
    name: 'a proxy.istio.io/config of 262,000 "{"',
    path: '/mutate/pods',
    body: () => annotated('{'.repeat(262_000)),
    expect: [200],
    check: (reply) =>
      expect(JSON.parse(reply.body).response).toMatchObject({ allowed: true, warnings: [expect.any(String)] }),
  },
  {
    name: 'three at once: a proxy.istio.io/config of 262,000 "{"',
    path: '/mutate/pods',
    body: () => annotated('{'.repeat(262_000)),
    concurrency: 3,
    expect: [200],
  },
  {
    name: 'a proxy.istio.io/config at the pre-scan bounds (1,990 keys on indented lines)',
    path: '/mutate/pods',
    body: () => annotated(Array.from({ length: 1990 }, (_, i) => `${' '.repeat(i % 60)}k${i}:`).join('\n')),
    expect: [200],
  },
  {
    name: 'a review whose kind nests 100,000 levels',
    path: '/mutate/pods',
    body: () => nestedKind(100_000),
    expect: [413],
  },
  {
    name: 'a uid, namespace and name of 2 MiB each',
    path: '/mutate/pods',
    body: () => {
      const text = 'u'.repeat(2 * MiB - 4096);
      const body = review(replicaSetPod(), { uid: text, namespace: text }) as { request: Record<string, unknown> };
      body.request.name = text;
      return JSON.stringify(body);
    },
    expect: [200],
    check: (_reply, server) => expect(server.longestLine()).toBeLessThan(4096),
  },
  {
    // Six, not more: the test process's own TLS encryption of the bodies delays its probes, not the server.
    name: 'six bodies of 5.9 MiB at once (the large-body budget takes two)',
    path: '/mutate/pods',
    body: () => JSON.stringify(review(replicaSetPod({ annotations: { big: 'x'.repeat(6 * MiB - 64 * 1024) } }))),
    concurrency: 6,
    expect: [200, 429, REFUSED_WHILE_SENDING],
  },
];

interface Measured {
  attack: string;
  attackReplies: number;
  attackMs: { max: number };
  normalMs: { count: number; p50: number; p99: number; max: number };
  healthzMs: { count: number; max: number };
  peakRssMiB: number;
  /** The server's own view, from its /metrics: the longest event-loop delay since the previous scrape. */
  eventLoopLagMaxMs: number;
}

/** prom-client resets its event-loop delay histogram on every scrape: the max is over the time since the last one. */
async function eventLoopLagMaxMs(server: AttackServer): Promise<number> {
  const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
  return Number(/^(?:egress_guard_)?nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]) * 1000;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const round = (value: number) => Math.round(value * 10) / 10;

describe('attacks on the production entry point under the Deployment heap cap', () => {
  let server: AttackServer;
  const report: Measured[] = [];
  // A fresh server per attack: each shape is measured on its own, not on a heap earlier attacks have grown.
  beforeEach(async () => {
    server = await startAttackServer();
  }, 30_000);
  afterEach(async () => {
    await server?.stop();
  });
  afterAll(() => {
    writeFileSync(REPORT, `${JSON.stringify(report, null, 2)}\n`);
  });

  it.each(ATTACKS.map((attack) => [attack.name, attack] as const))(
    '%s',
    async (_name, attack) => {
      const body = attack.body();
      const normalAgent = new Agent({ keepAlive: true, maxSockets: 1 });
      await post(`${server.admissionUrl}/mutate/pods`, JSON.stringify(review(replicaSetPod())), server.ca, {
        agent: normalAgent,
      });
      server.resetPeak();
      await eventLoopLagMaxMs(server);
      let running = true;
      const normal: Reply[] = [];
      const probes: Array<{ ms: number; status: number }> = [];
      const normalLoop = (async () => {
        while (running) {
          // The API server gives up after the webhook's timeoutSeconds (5).
          const reply = await post(
            `${server.admissionUrl}/mutate/pods`,
            JSON.stringify(review(replicaSetPod())),
            server.ca,
            {
              agent: normalAgent,
              timeoutMs: 5000,
            },
          );
          normal.push(reply);
          await sleep(20);
        }
      })();
      const probeLoop = (async () => {
        while (running) {
          const started = performance.now();
          // The kubelet's probe timeoutSeconds (2).
          const status = await fetch(`${server.opsUrl}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
            (res) => res.status,
            () => 0,
          );
          probes.push({ ms: performance.now() - started, status });
          await sleep(50);
        }
      })();
      const replies: Reply[] = [];
      const started = performance.now();
      do {
        replies.push(
          ...(await Promise.all(
            Array.from({ length: attack.concurrency ?? 1 }, () =>
              post(`${server.admissionUrl}${attack.path}`, body, server.ca, { timeoutMs: 30_000 }),
            ),
          )),
        );
      } while (performance.now() - started < ATTACK_MS);
      await sleep(200);
      running = false;
      await Promise.all([normalLoop, probeLoop]);
      normalAgent.destroy();
      const peakRssMiB = server.peakRssMiB();
      const lagMs = await eventLoopLagMaxMs(server);

      const normalMs = normal.map((reply) => reply.ms);
      report.push({
        attack: attack.name,
        attackReplies: replies.length,
        attackMs: { max: round(Math.max(...replies.map((reply) => reply.ms))) },
        normalMs: {
          count: normal.length,
          p50: round(percentile(normalMs, 50)),
          p99: round(percentile(normalMs, 99)),
          max: round(Math.max(...normalMs)),
        },
        healthzMs: { count: probes.length, max: round(Math.max(...probes.map((probe) => probe.ms))) },
        peakRssMiB: round(peakRssMiB),
        eventLoopLagMaxMs: round(lagMs),
      });

      for (const reply of replies) expect(attack.expect).toContain(reply.status);
      for (const reply of replies) if (reply.status === 0) expect(['EPIPE', 'ECONNRESET']).toContain(reply.error);
      for (const reply of replies) if (reply.status === 200) attack.check?.(reply, server);
      expect(normal.filter((reply) => reply.status !== 200)).toEqual([]);
      expect(normal.length).toBeGreaterThan(0);
      expect(probes.filter((probe) => probe.status !== 200)).toEqual([]);
      expect(peakRssMiB).toBeLessThan(MEMORY_LIMIT_MIB);
      expect(server.child.exitCode).toBeNull();
      expect(server.lines().filter((line) => (line.level as number) >= 50)).toEqual([]);
    },
    60_000,
  );
});
