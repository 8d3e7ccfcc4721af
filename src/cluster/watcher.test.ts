// The list + watch state machine against an in-memory API server: sync, events, pages, relists, staleness,
// 410, 404, idle and dead streams. Real timers with millisecond delays.
import { afterEach, describe, expect, it } from '@jest/globals';
import { captureLog } from '../../test/support/log-capture.js';
import { destinationRuleObject, FakeKubeApi, serviceEntryObject } from '../../test/support/fake-kube-api.js';
import { sleep, waitFor } from '../../test/support/wait.js';
import { KubeApiError } from './kube-api.js';
import { ClusterWatcher, type ClusterWatcherOptions, type ClusterWatchState } from './watcher.js';

const SE = 'serviceentries';
const DR = 'destinationrules';

const se = (namespace: string, name: string, hosts: string[], ports = [443]) =>
  serviceEntryObject(namespace, name, {
    hosts,
    resolution: 'DNS',
    ports: ports.map((number) => ({ number, name: `p${number}`, protocol: 'TLS' })),
  });
const dr = (namespace: string, name: string, host: string) =>
  destinationRuleObject(namespace, name, { host, trafficPolicy: { tls: { mode: 'SIMPLE' } } });

const watchers: ClusterWatcher[] = [];
afterEach(() => {
  for (const watcher of watchers.splice(0)) watcher.stop();
});

function setup(options: Partial<ClusterWatcherOptions> = {}, api = new FakeKubeApi()) {
  const log = captureLog('debug');
  const watcher = new ClusterWatcher({
    api,
    logger: log.logger,
    backoff: { initialMs: 5, maxMs: 20, resetAfterMs: 60_000 },
    absentRetryMs: 30,
    minWatchMs: 0,
    ...options,
  });
  watchers.push(watcher);
  const states: ClusterWatchState[] = [];
  watcher.on('state', (state) => states.push(state));
  return { api, watcher, log, states };
}

const hostsOf = (watcher: ClusterWatcher, host: string, namespace = 'default') =>
  watcher.index
    .viewFor()
    .serviceEntriesForHost(host, namespace)
    .map((entry) => `${entry.namespace}/${entry.name}`);

describe('ClusterWatcher: sync', () => {
  it('is not synced until both kinds are listed, then holds every object', async () => {
    const api = new FakeKubeApi();
    api.apply(SE, se('default', 'a', ['a.example.com']));
    api.apply(SE, se('shop', 'b', ['b.example.com']));
    api.apply(DR, dr('default', 'tls', 'a.example.com'));
    api.failNext(DR, new KubeApiError('list destinationrules: HTTP 503 unavailable', 503));
    const { watcher, states } = setup({}, api);
    expect(watcher.synced).toBe(false);
    await watcher.start();
    expect(watcher.synced).toBe(false);
    await waitFor(() => watcher.synced, 'sync');
    expect(watcher.stale).toBe(false);
    expect(watcher.index.serviceEntryCount).toBe(2);
    expect(watcher.index.destinationRuleCount).toBe(1);
    expect(watcher.lastSyncTime).toBeInstanceOf(Date);
    // The failed first list of DestinationRules was reported, before the sync.
    expect(states.some((state) => !state.synced && state.problem?.includes('503'))).toBe(true);
    expect(states.at(-1)).toMatchObject({ synced: true, stale: false, absent: [] });
  });

  it('lists in pages and resolves whenSynced()', async () => {
    const api = new FakeKubeApi();
    for (let i = 0; i < 7; i++) api.apply(SE, se('default', `se-${i}`, [`h${i}.example.com`]));
    const { watcher } = setup({ pageSize: 3 }, api);
    await watcher.start();
    expect(await watcher.whenSynced(2_000)).toBe(true);
    expect(watcher.index.serviceEntryCount).toBe(7);
    expect(
      api.calls.filter((call) => call.op === 'list' && call.plural === SE).map((call) => call.continue ?? ''),
    ).toEqual(['', '3', '6']);
  });

  it('watches from the resourceVersion of the list', async () => {
    const api = new FakeKubeApi();
    api.apply(SE, se('default', 'a', ['a.example.com']));
    const { watcher } = setup({}, api);
    await watcher.start();
    await waitFor(() => api.openWatches() === 2, 'watches');
    const watch = api.calls.find((call) => call.op === 'watch' && call.plural === SE);
    expect(watch?.resourceVersion).toBe('101');
  });
});

describe('ClusterWatcher: events', () => {
  it('follows adds, updates (old hosts dropped) and deletes of both kinds', async () => {
    const { api, watcher } = setup();
    await watcher.start();
    await waitFor(() => api.openWatches() === 2, 'watches');

    api.apply(SE, se('default', 'a', ['a.example.com']));
    expect(hostsOf(watcher, 'a.example.com')).toEqual(['default/a']);

    api.apply(SE, se('default', 'a', ['b.example.com'], [443, 8443]));
    expect(hostsOf(watcher, 'a.example.com')).toEqual([]);
    expect(hostsOf(watcher, 'b.example.com')).toEqual(['default/a']);
    expect(
      watcher.index
        .viewFor()
        .serviceEntriesForHost('b.example.com', 'default')[0]
        ?.ports.map((port) => port.number),
    ).toEqual([443, 8443]);

    api.remove(SE, 'default', 'a');
    expect(hostsOf(watcher, 'b.example.com')).toEqual([]);
    expect(watcher.index.serviceEntryCount).toBe(0);

    api.apply(DR, dr('default', 'tls', 'b.example.com'));
    expect(
      watcher.index
        .viewFor()
        .destinationRulesForHost('b.example.com', 'default')
        .map((rule) => rule.name),
    ).toEqual(['tls']);
    api.remove(DR, 'default', 'tls');
    expect(watcher.index.destinationRuleCount).toBe(0);
  });

  it('watches again from the last resourceVersion (bookmarks included) when the server ends a watch', async () => {
    const { api, watcher } = setup();
    const restarts: string[] = [];
    watcher.on('watchRestart', (kind) => restarts.push(kind));
    await watcher.start();
    await waitFor(() => api.openWatches() === 2, 'watches');
    api.apply(SE, se('default', 'a', ['a.example.com']));
    api.apply(DR, dr('default', 'x', 'x.example.com'));
    api.bookmark(SE);
    api.closeWatches(SE);
    await waitFor(() => api.openWatches(SE) === 1, 'new watch');
    const watchesOfSe = api.calls.filter((call) => call.op === 'watch' && call.plural === SE);
    expect(watchesOfSe.map((call) => call.resourceVersion)).toEqual(['100', '102']);
    expect(api.count('list', SE)).toBe(1);
    expect(restarts).toEqual(['ServiceEntry']);
    expect(watcher.stale).toBe(false);
  });

  it('replaces a silent watch without counting it as a failure', async () => {
    const { api, watcher } = setup({ idleTimeoutMs: 40 });
    await watcher.start();
    await waitFor(() => api.count('watch', SE) >= 3, 'watches replaced', 2_000);
    expect(api.count('list', SE)).toBe(1);
    expect(watcher.stale).toBe(false);
    expect(api.openWatches(SE)).toBe(1);
  });
});

describe('ClusterWatcher: failures', () => {
  it('goes stale when the API server is unreachable, keeps the last state, and recovers with a relist', async () => {
    const api = new FakeKubeApi();
    api.apply(SE, se('default', 'keep', ['keep.example.com']));
    api.apply(SE, se('default', 'gone', ['gone.example.com']));
    const { watcher, states, log } = setup({}, api);
    await watcher.start();
    await waitFor(() => watcher.synced && api.openWatches() === 2, 'sync');

    api.down = true;
    await waitFor(() => watcher.stale, 'stale');
    const { staleSince, problem } = watcher.state;
    expect(staleSince).toBeInstanceOf(Date);
    expect(problem).toMatch(/ECONN/);
    expect(watcher.synced).toBe(true);
    expect(hostsOf(watcher, 'gone.example.com')).toEqual(['default/gone']);
    // Retries are backed off, not a hot loop: with 5-20 ms delays, 100 ms allows at most ~20 lists.
    const before = api.count('list');
    await sleep(100);
    expect(api.count('list') - before).toBeLessThan(25);
    expect(watcher.stale).toBe(true);

    // Changes made while we could not watch.
    api.removeSilently(SE, 'default', 'gone');
    api.applySilently(SE, se('default', 'new', ['new.example.com']));
    api.down = false;
    await waitFor(() => !watcher.stale, 'recovery');
    expect(hostsOf(watcher, 'gone.example.com')).toEqual([]);
    expect(hostsOf(watcher, 'new.example.com')).toEqual(['default/new']);
    expect(hostsOf(watcher, 'keep.example.com')).toEqual(['default/keep']);
    expect(
      states.map((state) => `${state.synced ? 'synced' : 'unsynced'}/${state.stale ? 'stale' : 'current'}`),
    ).toEqual(expect.arrayContaining(['synced/current', 'synced/stale']));
    expect(states.at(-1)).toMatchObject({ synced: true, stale: false });
    expect(watcher.state.staleSince).toBeUndefined();
    const messages = log.lines().map((line) => line.msg);
    expect(messages).toContain(
      'cluster index may be stale: answering from the last known state until the watch recovers',
    );
    expect(messages).toContain('cluster index current again; findings are no longer marked stale');
    // The first failure of a kind warns, the same failure again only at debug.
    const warnings = log.lines().filter((line) => line.msg === 'cluster watch failed; retrying' && line.level === 40);
    expect(warnings.length).toBeLessThanOrEqual(4);
  });

  it('stays stale until a list succeeded and the next watch was accepted', async () => {
    const { api, watcher, states } = setup();
    await watcher.start();
    await waitFor(() => watcher.synced && api.openWatches() === 2, 'sync');
    const watchFailed = new KubeApiError('watch: HTTP 500 boom', 500);
    api.failNext(SE, watchFailed, new KubeApiError('list: HTTP 500 boom', 500), watchFailed);
    api.closeWatches(SE);
    await waitFor(() => !watcher.stale && api.openWatches(SE) === 1 && api.count('list', SE) === 4, 'recovered');
    // re-watch refused -> stale; list refused; list ok, watch refused -> still stale; list ok, watch ok -> current.
    const staleness = states.filter((state) => state.synced).map((state) => state.stale);
    expect(staleness.filter((stale, i) => stale !== staleness[i - 1])).toEqual([false, true, false]);
    // Each change of problem was announced while stale.
    expect(states.filter((state) => state.stale).map((state) => state.problem)).toEqual([
      'watch: HTTP 500 boom',
      'list: HTTP 500 boom',
      'watch: HTTP 500 boom',
    ]);
  });

  it('lists again at once after 410 Gone, without going stale', async () => {
    const { api, watcher, states } = setup();
    await watcher.start();
    await waitFor(() => watcher.synced && api.openWatches() === 2, 'sync');
    const statesBefore = states.length;
    api.expire(SE);
    await waitFor(() => api.count('list', SE) === 2 && api.openWatches(SE) === 1, 'relist');
    expect(states.length).toBe(statesBefore);
    expect(watcher.stale).toBe(false);
  });

  it('treats an error event other than 410 as a failure', async () => {
    const { api, watcher } = setup();
    await watcher.start();
    await waitFor(() => watcher.synced && api.openWatches() === 2, 'sync');
    api.expire(DR, 500);
    await waitFor(() => watcher.stale, 'stale');
    expect(watcher.state.problem).toMatch(/HTTP 500/);
    await waitFor(() => !watcher.stale, 'recovered');
  });

  it('counts a watch the server closes at once as a failure, so it does not spin', async () => {
    const { api, watcher } = setup({ minWatchMs: 1_000 });
    api.closeAtOnce = true;
    await watcher.start();
    await waitFor(() => watcher.stale, 'stale');
    expect(watcher.state.problem).toMatch(/closed by the server at once/);
    const lists = api.count('list');
    await sleep(60);
    // Each failure waits 5-20 ms before the next list: a handful, not thousands.
    expect(api.count('list') - lists).toBeLessThan(30);
  });
});

describe('ClusterWatcher: CRDs not installed', () => {
  it('counts a 404 as synced and empty, warns once, and picks the CRD up when it appears', async () => {
    const api = new FakeKubeApi();
    api.absent.add(DR);
    api.apply(SE, se('default', 'a', ['a.example.com']));
    const { watcher, log } = setup({}, api);
    await watcher.start();
    await waitFor(() => watcher.synced, 'sync');
    expect(watcher.stale).toBe(false);
    expect(watcher.state.absent).toEqual(['DestinationRule']);
    await waitFor(() => api.count('list', DR) >= 3, 'retries');
    const warnings = log.lines().filter((line) => String(line.msg).includes('is not served'));
    expect(warnings).toHaveLength(1);

    api.absent.delete(DR);
    api.apply(DR, dr('default', 'tls', 'a.example.com'));
    await waitFor(() => watcher.index.destinationRuleCount === 1, 'rule indexed');
    await waitFor(() => watcher.state.absent.length === 0, 'not absent');
    expect(log.lines().some((line) => String(line.msg).includes('is served now'))).toBe(true);
  });

  it('reads an older Istio that serves only v1beta1', async () => {
    const api = new FakeKubeApi();
    api.versions.delete('v1');
    api.apply(SE, se('default', 'a', ['a.example.com']));
    const { watcher, log } = setup({}, api);
    await watcher.start();
    await waitFor(() => watcher.synced && api.openWatches() === 2, 'sync');
    expect(watcher.state.absent).toEqual([]);
    expect(watcher.index.serviceEntryCount).toBe(1);
    expect(api.calls.filter((call) => call.plural === SE).map((call) => `${call.op} ${call.version}`)).toEqual([
      'list v1',
      'list v1beta1',
      'watch v1beta1',
    ]);
    expect(log.lines().some((line) => line.msg === 'serviceentries.networking.istio.io is read as v1beta1')).toBe(true);
  });

  it('empties a kind whose CRD disappears', async () => {
    const api = new FakeKubeApi();
    api.apply(DR, dr('default', 'tls', 'a.example.com'));
    const { watcher } = setup({}, api);
    await watcher.start();
    await waitFor(() => watcher.index.destinationRuleCount === 1 && api.openWatches() === 2, 'sync');
    api.absent.add(DR);
    api.closeWatches(DR);
    await waitFor(() => watcher.state.absent.includes('DestinationRule'), 'absent');
    expect(watcher.index.destinationRuleCount).toBe(0);
    expect(watcher.stale).toBe(false);
  });
});

describe('ClusterWatcher: stop', () => {
  it('makes no more calls and ignores late answers', async () => {
    const { api, watcher } = setup({ idleTimeoutMs: 20 });
    await watcher.start();
    await waitFor(() => api.openWatches() === 2, 'watches');
    watcher.stop();
    const calls = api.calls.length;
    api.apply(SE, se('default', 'late', ['late.example.com']));
    await sleep(60);
    expect(api.calls.length).toBe(calls);
    expect(watcher.index.serviceEntryCount).toBe(0);
  });
});
