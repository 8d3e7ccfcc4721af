// How the cluster watch shows up outside: the ClusterView admission uses, the /readyz check, and metrics.
//
// Readiness: false until the first sync (before it, cross-object findings would be guesses); after it, true
// for good, stale or not. Answering from the last known state is the intended behaviour during an API-server
// outage (the findings then say "cluster view may be stale"), and an unready webhook whose ValidatingWebhook
// fails closed would block every ServiceEntry write for no gain. The detail says which case holds, and since when.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Readiness } from '../readiness.js';
import { objectAtHandView } from '../rules/object-at-hand.js';
import type { ClusterViewFor, RuleSettings } from '../rules/types.js';
import type { ClusterWatcher, ClusterWatchState, WatchedKind } from './watcher.js';

export const READINESS_CHECK = 'cluster-cache';

/**
 * The view the ServiceEntry webhook judges with: the whole cluster once synced (marked stale while the watch is
 * broken), the object alone before that (scope 'object': rules that need to know something is absent stay quiet).
 */
export function clusterViewFor(watcher: Pick<ClusterWatcher, 'index' | 'synced' | 'stale'>): ClusterViewFor {
  return (entry) =>
    watcher.synced ? watcher.index.viewFor(entry, { stale: watcher.stale, scope: 'cluster' }) : objectAtHandView(entry);
}

const plural: Record<WatchedKind, string> = { ServiceEntry: 'serviceentries', DestinationRule: 'destinationrules' };

/** The /readyz check for a watch state. Pure, for tests. */
export function readinessOf(state: ClusterWatchState): { ok: boolean; detail: string } {
  const absent =
    state.absent.length > 0
      ? `; not installed, nothing to index: ${state.absent.map((kind) => plural[kind]).join(', ')}`
      : '';
  if (!state.synced) {
    return {
      ok: false,
      detail: `waiting for the first list of serviceentries and destinationrules${state.problem ? `: ${state.problem}` : ''}`,
    };
  }
  if (state.stale) {
    const since = state.staleSince ? ` since ${state.staleSince.toISOString()}` : '';
    return {
      ok: true,
      detail: `stale${since}: ${state.problem ?? 'watch broken'}; answering from the last known state${absent}`,
    };
  }
  const at = state.lastSyncTime ? ` since ${state.lastSyncTime.toISOString()}` : '';
  return { ok: true, detail: `in sync${at}${absent}` };
}

export function registerClusterReadiness(watcher: ClusterWatcher, readiness: Readiness): void {
  const update = (state: ClusterWatchState) => {
    const { ok, detail } = readinessOf(state);
    readiness.set(READINESS_CHECK, ok, detail);
  };
  update(watcher.state);
  watcher.on('state', update);
}

/**
 * Gauges are read at scrape time from the watcher; the counters follow its events. Counting the hosts with
 * undeclared ports walks every ServiceEntry (long at 100,000, on the event loop admission shares), so
 * after a change it is recounted at most every `undeclaredPortsEveryMs`; the index caches it while nothing changes.
 */
export function registerClusterMetrics(
  watcher: ClusterWatcher,
  registry: Registry,
  settings: RuleSettings,
  { undeclaredPortsEveryMs = 60_000 }: { undeclaredPortsEveryMs?: number } = {},
): void {
  const registers = [registry];
  let undeclared = { at: Number.NEGATIVE_INFINITY, hosts: 0 };
  new Gauge({
    name: 'egress_guard_cluster_cache_synced',
    help: '1 once the first list of ServiceEntries and DestinationRules completed.',
    registers,
    collect() {
      this.set(watcher.synced ? 1 : 0);
    },
  });
  new Gauge({
    name: 'egress_guard_cluster_cache_stale',
    help: '1 while the watch is broken: admission answers from the last known state and says so.',
    registers,
    collect() {
      this.set(watcher.stale ? 1 : 0);
    },
  });
  new Gauge({
    name: 'egress_guard_cluster_cache_last_sync_timestamp_seconds',
    help: 'When the index last became complete and current (first sync or recovery), Unix seconds; 0 before.',
    registers,
    collect() {
      this.set((watcher.lastSyncTime?.getTime() ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'egress_guard_cluster_cache_objects',
    help: 'Objects in the cluster-wide index, by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.set({ kind: 'ServiceEntry' }, watcher.index.serviceEntryCount);
      this.set({ kind: 'DestinationRule' }, watcher.index.destinationRuleCount);
    },
  });
  new Gauge({
    name: 'egress_guard_hosts_with_undeclared_ports',
    help: 'Auto-allocated hosts in the cluster lacking an expected port (the undeclared-ports rule, cluster-wide; recounted at most every minute).',
    registers,
    collect() {
      const now = Date.now();
      if (now - undeclared.at >= undeclaredPortsEveryMs)
        undeclared = { at: now, hosts: watcher.index.hostsWithUndeclaredPorts(settings) };
      this.set(undeclared.hosts);
    },
  });
  const restarts = new Counter({
    name: 'egress_guard_cluster_watch_restarts_total',
    help: 'Watches started after the first, by kind: server timeouts and silent streams as well as failures.',
    labelNames: ['kind'],
    registers,
  });
  const relists = new Counter({
    name: 'egress_guard_cluster_relists_total',
    help: 'Full lists, by kind, the first included: after 410 Gone, failures, or while a CRD is missing.',
    labelNames: ['kind'],
    registers,
  });
  for (const kind of ['ServiceEntry', 'DestinationRule'] as const) {
    restarts.inc({ kind }, 0);
    relists.inc({ kind }, 0);
  }
  watcher.on('watchRestart', (kind) => restarts.inc({ kind }));
  watcher.on('relist', (kind) => relists.inc({ kind }));
}
