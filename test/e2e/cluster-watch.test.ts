// The watch-backed cluster index against a real kube-apiserver: sync, following kubectl's changes, verdicts that
// follow the cluster, missing CRDs, and an API-server crash and restart. Two watchers run side by side on one
// cluster, one per transport: 'in-cluster' (node:https with a ServiceAccount-style token and CA file, what a pod
// uses) and 'kubeconfig' (@kubernetes/client-node, what a developer's machine uses).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionRequest } from '../../src/admission/types.js';
import { connectCluster, type ClusterConnection } from '../../src/cluster/connect.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { Readiness } from '../../src/readiness.js';
import { serviceEntryValidator } from '../../src/webhooks/validate-serviceentries.js';
import { serviceEntryReview } from '../fixtures/reviews.js';
import { captureLog, type CapturedLog } from '../support/log-capture.js';
import { installIstioCrds, startCluster, type Cluster } from './cluster.js';

const SETTINGS = {
  expectedPorts: [80, 443],
  undeclaredPortsAction: 'warn',
  istio: { version: { major: 1, minor: 31 }, allocator: 'istiod' },
} as const;
/** How long a change may take to reach the index (it takes milliseconds; the margin is for a loaded machine). */
const PROPAGATION_MS = 10_000;
const TRANSPORTS = ['in-cluster', 'kubeconfig'] as const;
type Transport = (typeof TRANSPORTS)[number];

interface Watching {
  connection: ClusterConnection;
  readiness: Readiness;
  metrics: Metrics;
  log: CapturedLog;
}

async function eventually(probe: () => boolean, what: string, timeoutMs = PROPAGATION_MS): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function serviceEntry(namespace: string, name: string, hosts: string[], ports: number[]) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace },
    spec: {
      hosts,
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      ports: ports.map((number) => ({ number, name: `tcp-${number}`, protocol: 'TCP' })),
    },
  };
}

describe('cluster watch against a real API server', () => {
  let cluster: Cluster;
  const watching = {} as Record<Transport, Watching>;
  const all = () => TRANSPORTS.map((transport) => watching[transport]);

  const apply = (object: unknown) => cluster.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(object) });
  const names = (w: Watching, host: string, namespace = 'default') =>
    w.connection.watcher.index
      .viewFor()
      .serviceEntriesForHost(host, namespace)
      .map((entry) => `${entry.namespace}/${entry.name}`);
  /** Waits until `probe` holds for both watchers. */
  const everywhere = (probe: (w: Watching) => boolean, what: string, timeoutMs?: number) =>
    eventually(() => all().every(probe), what, timeoutMs);
  const cacheCheck = (w: Watching) => w.readiness.report().checks['cluster-cache'];
  /** Reviews a second ServiceEntry for dup.example.com, as the API server would send it, and returns its warnings. */
  const reviewSecond = (w: Watching) => {
    const validator = serviceEntryValidator(SETTINGS, w.connection.clusterViewFor);
    const body = serviceEntryReview(serviceEntry('default', 'second', ['dup.example.com'], [443]), {
      namespace: 'default',
    });
    return (validator.review(body.request as unknown as AdmissionRequest).answer.warnings ?? []).join('\n');
  };

  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.kubectl(['create', 'namespace', 'other']);
  });

  afterAll(async () => {
    for (const w of Object.values(watching)) w.connection.stop();
    await cluster?.stop();
  });

  it('starts unsynced, and counts CRDs that are not installed as synced and empty', async () => {
    // A pod's view of the API server: KUBERNETES_SERVICE_HOST/PORT and a mounted token and CA.
    const serviceAccountDir = mkdtempSync(join(tmpdir(), 'egress-guard-e2e-sa-'));
    writeFileSync(join(serviceAccountDir, 'token'), cluster.adminToken);
    writeFileSync(join(serviceAccountDir, 'ca.crt'), cluster.caPem);
    const { hostname, port } = new URL(cluster.apiserverUrl);
    const envs: Record<Transport, Record<string, string>> = {
      'in-cluster': { KUBERNETES_SERVICE_HOST: hostname, KUBERNETES_SERVICE_PORT: port },
      kubeconfig: { KUBECONFIG: cluster.kubeconfigPath },
    };
    for (const transport of TRANSPORTS) {
      const readiness = new Readiness();
      const metrics = createMetrics();
      const log = captureLog('debug');
      const connection = await connectCluster({
        env: envs[transport],
        serviceAccountDir,
        logger: log.logger,
        metrics,
        readiness,
        settings: SETTINGS,
        watch: { backoff: { initialMs: 200, maxMs: 1_000 }, absentRetryMs: 1_000 },
      });
      if (!connection) throw new Error(`${transport}: no connection`);
      watching[transport] = { connection, readiness, metrics, log };
      expect(connection.watcher.synced).toBe(false);
      expect(cacheCheck(watching[transport])?.ok).toBe(false);
      expect(readiness.ready).toBe(false);
      expect(log.lines().find((line) => String(line.msg).startsWith('watching'))).toMatchObject({
        source: transport === 'in-cluster' ? 'in-cluster' : cluster.kubeconfigPath,
      });
    }

    await everywhere((w) => w.connection.watcher.synced, 'sync without CRDs');
    for (const w of all()) {
      expect(w.connection.watcher.state.absent).toEqual(['ServiceEntry', 'DestinationRule']);
      expect(w.connection.watcher.stale).toBe(false);
      expect(cacheCheck(w)).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/not installed, nothing to index: serviceentries, destinationrules/),
      });
      expect(w.log.lines().some((line) => line.level === 40 && String(line.msg).includes('is not served'))).toBe(true);
      expect(w.log.text()).not.toContain(cluster.adminToken);
    }
  });

  it('picks up the Istio CRDs once they are installed', async () => {
    await installIstioCrds(cluster);
    // Missing CRDs are looked for every second here (30 s by default).
    expect(await everywhere((w) => w.connection.watcher.state.absent.length === 0, 'CRDs noticed')).toBeLessThan(5_000);
    for (const w of all())
      expect(cacheCheck(w)).toMatchObject({ ok: true, detail: expect.stringMatching(/^in sync since /) });
  });

  it('follows a ServiceEntry through create, update and delete', async () => {
    await apply(serviceEntry('default', 'web', ['web.example.com'], [443]));
    await everywhere((w) => names(w, 'web.example.com').length === 1, 'created');

    await apply(serviceEntry('default', 'web', ['www.example.com'], [443, 8443]));
    await everywhere((w) => names(w, 'www.example.com').length === 1, 'updated');
    for (const w of all()) {
      expect(names(w, 'web.example.com')).toEqual([]);
      const ports = w.connection.watcher.index
        .viewFor()
        .serviceEntriesForHost('www.example.com', 'default')[0]
        ?.ports.map((port) => port.number);
      expect(ports).toEqual([443, 8443]);
    }

    await cluster.kubectl(['delete', 'serviceentry', 'web', '-n', 'default']);
    await everywhere((w) => names(w, 'www.example.com').length === 0, 'deleted');
    for (const w of all()) expect(w.connection.watcher.index.serviceEntryCount).toBe(0);
  });

  it('follows DestinationRules', async () => {
    const rule = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'origination', namespace: 'default' },
      spec: { host: 'api.example.com', trafficPolicy: { tls: { mode: 'SIMPLE' } } },
    };
    const modeOf = (w: Watching) =>
      w.connection.watcher.index.viewFor().destinationRulesForHost('api.example.com', 'default')[0]?.tlsMode;
    await apply(rule);
    await everywhere((w) => modeOf(w) === 'SIMPLE', 'rule created');
    await apply({ ...rule, spec: { host: 'api.example.com', trafficPolicy: { tls: { mode: 'DISABLE' } } } });
    await everywhere((w) => modeOf(w) === 'DISABLE', 'rule updated');
    await cluster.kubectl(['delete', 'destinationrule', 'origination', '-n', 'default']);
    await everywhere(
      (w) => modeOf(w) === undefined && w.connection.watcher.index.destinationRuleCount === 0,
      'rule deleted',
    );
  });

  it('gives verdicts that follow the cluster: duplicate-host appears and disappears with the other entry', async () => {
    for (const w of all()) expect(reviewSecond(w)).not.toMatch(/also declared by/);
    await apply(serviceEntry('default', 'first', ['dup.example.com'], [8443]));
    await everywhere((w) => names(w, 'dup.example.com').length === 1, 'first indexed');
    for (const w of all()) {
      expect(reviewSecond(w)).toMatch(/dup\.example\.com is also declared by default\/first/);
      expect(reviewSecond(w)).not.toMatch(/stale/);
    }

    await cluster.kubectl(['delete', 'serviceentry', 'first', '-n', 'default']);
    await everywhere((w) => names(w, 'dup.example.com').length === 0, 'first gone');
    for (const w of all()) expect(reviewSecond(w)).not.toMatch(/also declared by/);
  });

  it('survives an API-server crash: stale at once, answers from the last state, current again after the restart', async () => {
    await apply(serviceEntry('default', 'first', ['dup.example.com'], [8443]));
    await everywhere((w) => names(w, 'dup.example.com').length === 1, 'first indexed');

    const transitions = { 'in-cluster': [], kubeconfig: [] } as Record<Transport, { stale: boolean; at: number }[]>;
    for (const transport of TRANSPORTS) {
      watching[transport].connection.watcher.on('state', (state) =>
        transitions[transport].push({ stale: state.stale, at: performance.now() }),
      );
    }
    const killedAt = performance.now();
    await cluster.stopApiserver({ signal: 'SIGKILL' });
    // The watch connections break with the process; the next list or watch is refused.
    await everywhere((w) => w.connection.watcher.stale, 'stale', 2_000);
    const staleMs = TRANSPORTS.map((t) => Math.round((transitions[t].find((x) => x.stale)?.at ?? NaN) - killedAt));
    for (const ms of staleMs) expect(ms).toBeLessThan(1_000);

    for (const w of all()) {
      expect(w.readiness.ready).toBe(true);
      expect(cacheCheck(w)?.detail).toMatch(/^stale since \S+: .*answering from the last known state/);
      expect(await w.metrics.registry.metrics()).toMatch(/^egress_guard_cluster_cache_stale 1$/m);
      // Admission still answers, at once, from the last known state, and says it may be stale.
      const started = performance.now();
      const warnings = reviewSecond(w);
      expect(performance.now() - started).toBeLessThan(100);
      expect(warnings).toMatch(/dup\.example\.com is also declared by default\/first.*\(cluster view may be stale\)/);
    }

    const restartAt = performance.now();
    await cluster.startApiserver();
    const readyAt = performance.now();
    await everywhere((w) => !w.connection.watcher.stale, 'recovery', 15_000);
    // Backoff is capped at 1 s here (30 s by default): current again within about a second of the server serving.
    const recoveryMs = TRANSPORTS.map((t) =>
      Math.round((transitions[t].find((x) => !x.stale && x.at > restartAt)?.at ?? NaN) - readyAt),
    );
    for (const ms of recoveryMs) expect(ms).toBeLessThan(3_000);
    for (const w of all()) {
      expect(cacheCheck(w)?.detail).toMatch(/^in sync since /);
      expect(reviewSecond(w)).not.toMatch(/stale/);
    }

    // Changes after the restart are seen.
    await cluster.kubectl(['delete', 'serviceentry', 'first', '-n', 'default']);
    await apply(serviceEntry('default', 'after-restart', ['after.example.com'], [443]));
    await everywhere(
      (w) => names(w, 'dup.example.com').length === 0 && names(w, 'after.example.com').length === 1,
      'changes after restart',
    );
    for (const w of all()) expect(reviewSecond(w)).not.toMatch(/also declared by/);
    process.stderr.write(
      `cluster-watch (${TRANSPORTS.join(', ')}): stale ${staleMs.join(', ')} ms after SIGKILL; API server restart took ` +
        `${Math.round(readyAt - restartAt)} ms; current again ${recoveryMs.join(', ')} ms after startApiserver() returned ` +
        `(negative: the server answered lists before its /readyz passed)\n`,
    );
  });

  it('catches up with changes made while it was not watching', async () => {
    // Stop the watches (not the API server), change things, resume: the relist diffs the index.
    for (const w of all()) w.connection.watcher.stop();
    await apply(serviceEntry('default', 'while-away', ['away.example.com'], [443]));
    await cluster.kubectl(['delete', 'serviceentry', 'after-restart', '-n', 'default']);
    for (const w of all()) await w.connection.watcher.start();
    await everywhere(
      (w) => names(w, 'away.example.com').length === 1 && names(w, 'after.example.com').length === 0,
      'caught up',
    );
  });
});
