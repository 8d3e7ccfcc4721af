import { afterEach, describe, expect, it } from '@jest/globals';
import { destinationRuleObject, FakeKubeApi, serviceEntryObject } from '../../test/support/fake-kube-api.js';
import { captureLog } from '../../test/support/log-capture.js';
import { waitFor } from '../../test/support/wait.js';
import { toServiceEntryView } from '../istio/service-entry.js';
import { createMetrics } from '../metrics.js';
import { Readiness } from '../readiness.js';
import { clusterViewFor, readinessOf, registerClusterMetrics, registerClusterReadiness } from './status.js';
import { ClusterWatcher } from './watcher.js';

const SETTINGS = {
  expectedPorts: [80, 443],
  undeclaredPortsAction: 'warn',
  istio: { version: { major: 1, minor: 31 }, allocator: 'istiod' },
} as const;
const watchers: ClusterWatcher[] = [];
afterEach(() => {
  for (const watcher of watchers.splice(0)) watcher.stop();
});

function setup(api = new FakeKubeApi()) {
  const watcher = new ClusterWatcher({
    api,
    logger: captureLog().logger,
    backoff: { initialMs: 5, maxMs: 10 },
    minWatchMs: 0,
  });
  watchers.push(watcher);
  return { api, watcher };
}

/** An auto-allocated host (DNS, no addresses) declaring only 9444: 80 and 443 are undeclared. */
const trap = serviceEntryObject('default', 'trap', {
  hosts: ['trap.example.com'],
  resolution: 'DNS',
  ports: [{ number: 9444, name: 'tcp', protocol: 'TCP' }],
});

describe('readinessOf', () => {
  const at = new Date('2026-01-02T03:04:05.000Z');

  it('is not ready before the first sync, with the latest problem', () => {
    expect(
      readinessOf({ synced: false, stale: true, problem: 'list serviceentries: HTTP 403 forbidden', absent: [] }),
    ).toEqual({
      ok: false,
      detail:
        'waiting for the first list of serviceentries and destinationrules: list serviceentries: HTTP 403 forbidden',
    });
  });

  it('is ready and says since when once in sync', () => {
    expect(readinessOf({ synced: true, stale: false, lastSyncTime: at, absent: [] })).toEqual({
      ok: true,
      detail: 'in sync since 2026-01-02T03:04:05.000Z',
    });
  });

  it('stays ready while stale, and says so', () => {
    expect(
      readinessOf({ synced: true, stale: true, staleSince: at, problem: 'connect ECONNREFUSED', absent: [] }),
    ).toEqual({
      ok: true,
      detail: 'stale since 2026-01-02T03:04:05.000Z: connect ECONNREFUSED; answering from the last known state',
    });
  });

  it('names the kinds whose CRD is missing', () => {
    expect(readinessOf({ synced: true, stale: false, absent: ['DestinationRule'] }).detail).toBe(
      'in sync; not installed, nothing to index: destinationrules',
    );
  });
});

describe('clusterViewFor', () => {
  it('is the object alone before the sync, the whole cluster after, marked stale while the watch is broken', async () => {
    const api = new FakeKubeApi();
    api.apply(
      'serviceentries',
      serviceEntryObject('other', 'first', {
        hosts: ['dup.example.com'],
        resolution: 'DNS',
        ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
      }),
    );
    const { watcher } = setup(api);
    const viewFor = clusterViewFor(watcher);
    const second = toServiceEntryView(
      serviceEntryObject('default', 'second', { hosts: ['dup.example.com'], resolution: 'DNS' }),
    );

    const before = viewFor(second);
    expect(before.scope).toBe('object');
    expect(before.serviceEntriesForHost('dup.example.com', 'default').map((entry) => entry.name)).toEqual(['second']);

    await watcher.start();
    await waitFor(() => watcher.synced && api.openWatches() === 2, 'sync');
    const after = viewFor(second);
    expect(after).toMatchObject({ scope: 'cluster', stale: false });
    expect(after.serviceEntriesForHost('dup.example.com', 'default').map((entry) => entry.name)).toEqual([
      'second',
      'first',
    ]);

    api.down = true;
    await waitFor(() => watcher.stale, 'stale');
    expect(viewFor(second)).toMatchObject({ scope: 'cluster', stale: true });
  });
});

describe('registerClusterReadiness', () => {
  it('keeps the cluster-cache check in step with the watcher', async () => {
    const { api, watcher } = setup();
    const readiness = new Readiness();
    registerClusterReadiness(watcher, readiness);
    expect(readiness.report().checks['cluster-cache']).toMatchObject({ ok: false });
    await watcher.start();
    await waitFor(() => readiness.ready, 'ready');
    expect(readiness.report().checks['cluster-cache']?.detail).toMatch(/^in sync since /);
    api.down = true;
    await waitFor(() => readiness.report().checks['cluster-cache']?.detail.startsWith('stale since'), 'stale detail');
    expect(readiness.ready).toBe(true);
    api.down = false;
    await waitFor(() => readiness.report().checks['cluster-cache']?.detail.startsWith('in sync'), 'in sync again');
  });
});

describe('registerClusterMetrics', () => {
  it('reports sync, staleness, object counts, undeclared-port hosts and watch restarts', async () => {
    const api = new FakeKubeApi();
    api.apply('serviceentries', trap);
    api.apply('destinationrules', destinationRuleObject('default', 'tls', { host: 'trap.example.com' }));
    const { watcher } = setup(api);
    const metrics = createMetrics();
    registerClusterMetrics(watcher, metrics.registry, SETTINGS, { undeclaredPortsEveryMs: 0 });
    const scrape = async () => metrics.registry.metrics();

    expect(await scrape()).toMatch(/^egress_guard_cluster_cache_synced 0$/m);
    await watcher.start();
    await waitFor(() => watcher.synced && api.openWatches() === 2, 'sync');
    api.closeWatches('serviceentries');
    await waitFor(() => api.openWatches() === 2, 'rewatch');
    const text = await scrape();
    expect(text).toMatch(/^egress_guard_cluster_cache_synced 1$/m);
    expect(text).toMatch(/^egress_guard_cluster_cache_stale 0$/m);
    expect(text).toMatch(/^egress_guard_cluster_cache_objects\{kind="ServiceEntry"\} 1$/m);
    expect(text).toMatch(/^egress_guard_cluster_cache_objects\{kind="DestinationRule"\} 1$/m);
    expect(text).toMatch(/^egress_guard_hosts_with_undeclared_ports 1$/m);
    expect(text).toMatch(/^egress_guard_cluster_watch_restarts_total\{kind="ServiceEntry"\} 1$/m);
    expect(text).toMatch(/^egress_guard_cluster_watch_restarts_total\{kind="DestinationRule"\} 0$/m);
    expect(text).toMatch(/^egress_guard_cluster_relists_total\{kind="ServiceEntry"\} 1$/m);
    expect(text).toMatch(/^egress_guard_cluster_cache_last_sync_timestamp_seconds \d{10}/m);

    api.down = true;
    await waitFor(() => watcher.stale, 'stale');
    expect(await scrape()).toMatch(/^egress_guard_cluster_cache_stale 1$/m);
  });

  it('recounts hosts with undeclared ports at most every undeclaredPortsEveryMs', async () => {
    const api = new FakeKubeApi();
    const { watcher } = setup(api);
    const metrics = createMetrics();
    registerClusterMetrics(watcher, metrics.registry, SETTINGS, { undeclaredPortsEveryMs: 60_000 });
    await watcher.start();
    await waitFor(() => watcher.synced && api.openWatches() === 2, 'sync');
    expect(await metrics.registry.metrics()).toMatch(/^egress_guard_hosts_with_undeclared_ports 0$/m);
    api.apply('serviceentries', trap);
    expect(watcher.index.serviceEntryCount).toBe(1);
    // Counted a moment ago: the scrape reports the previous count.
    expect(await metrics.registry.metrics()).toMatch(/^egress_guard_hosts_with_undeclared_ports 0$/m);
  });
});
