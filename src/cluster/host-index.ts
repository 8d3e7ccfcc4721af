// The cluster-wide view behind every cross-object rule: all ServiceEntries and DestinationRules, indexed by
// host. The server feeds it from an informer cache, `egress-guard check` from files, `egress-guard audit` from a
// live list; the rules only ever see the ClusterView it hands out. Pure data structure: no I/O, no clocks.
//
// Views are stored as compact copies (src/cluster/compact-views.ts: shared strings, no kubectl last-applied
// annotation) and treated as immutable: replace an object by upserting a new view.
// Hosts are matched exactly after normalization; a ServiceEntry for `*.example.com` is indexed under that
// literal name and is not returned for `api.example.com` (Istio treats them as different services).
// DestinationRules are the exception: a wildcard rule applies to the hosts it covers, as in Istio.
import { isRuleVisibleFrom, type DestinationRuleView } from '../istio/destination-rule.js';
import { normalizeHost } from '../istio/hosts.js';
import { declaresHost, isVisibleFrom, type ServiceEntryView } from '../istio/service-entry.js';
import type { ClusterView, RuleSettings } from '../rules/types.js';
import { isAutoAllocated, UNDECLARED_PORTS, undeclaredPortsRule } from '../rules/undeclared-ports.js';
import { ViewCompactor } from './compact-views.js';
import { HostMultimap } from './host-multimap.js';

export interface ViewOptions {
  /** The index may lag the cluster (watch disconnected); findings then say so. */
  stale?: boolean;
  /** 'input' for `check -f DIR` (only the given files), 'cluster' (default) for a full cluster. */
  scope?: 'input' | 'cluster';
}

interface Named {
  namespace: string;
  name: string;
}

/** Kubernetes namespaces and names cannot contain '/', so `namespace/name` is unambiguous for real objects. */
function keyOf({ namespace, name }: Named): string {
  return `${namespace}/${name}`;
}

function sameKey(a: Named, b: Named): boolean {
  return a.namespace === b.namespace && a.name === b.name;
}

function hostsOf(entry: ServiceEntryView): Set<string> {
  return new Set(entry.hosts.map(({ host }) => normalizeHost(host)));
}

export class HostIndex {
  private readonly entries = new Map<string, ServiceEntryView>();
  private readonly entriesByHost = new HostMultimap<ServiceEntryView>();
  private readonly rules = new Map<string, DestinationRuleView>();
  private readonly rulesByHost = new HostMultimap<DestinationRuleView>();
  private readonly compactor = new ViewCompactor();
  /** Wildcard rule lookups probe every suffix of a host; skip that while no wildcard rule exists. */
  private wildcardRules = 0;
  /** Bumped on every change, so the metrics count is recomputed only when something changed. */
  private version = 0;
  private undeclaredCache?: { version: number; settings: RuleSettings; count: number };

  /** Adds or replaces (same namespace/name) a ServiceEntry; the old version's hosts are unindexed. */
  upsertServiceEntry(view: ServiceEntryView): void {
    const key = keyOf(view);
    this.unindexServiceEntry(key);
    const entry = this.compactor.serviceEntry(view);
    this.entries.set(key, entry);
    for (const host of hostsOf(entry)) this.entriesByHost.add(host, entry);
  }

  deleteServiceEntry(namespace: string, name: string): void {
    this.unindexServiceEntry(keyOf({ namespace, name }));
  }

  upsertDestinationRule(view: DestinationRuleView): void {
    const key = keyOf(view);
    this.unindexDestinationRule(key);
    const rule = this.compactor.destinationRule(view);
    this.rules.set(key, rule);
    // A rule without a host applies to nothing; it is kept for iteration only.
    if (rule.host === '') return;
    this.rulesByHost.add(rule.host, rule);
    if (rule.host.startsWith('*')) this.wildcardRules++;
  }

  deleteDestinationRule(namespace: string, name: string): void {
    this.unindexDestinationRule(keyOf({ namespace, name }));
  }

  private unindexServiceEntry(key: string): void {
    this.version++;
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    for (const host of hostsOf(old)) this.entriesByHost.remove(host, old);
  }

  private unindexDestinationRule(key: string): void {
    this.version++;
    const old = this.rules.get(key);
    if (!old) return;
    this.rules.delete(key);
    if (old.host === '') return;
    this.rulesByHost.remove(old.host, old);
    if (old.host.startsWith('*')) this.wildcardRules--;
  }

  /** Replaces everything, for a relist after a watch expired or a fresh `check` run. */
  replaceAll(entries: Iterable<ServiceEntryView>, rules: Iterable<DestinationRuleView>): void {
    this.version++;
    this.entries.clear();
    this.entriesByHost.clear();
    this.rules.clear();
    this.rulesByHost.clear();
    this.wildcardRules = 0;
    // A relist is the moment to forget strings only deleted objects used.
    this.compactor.clear();
    for (const entry of entries) this.upsertServiceEntry(entry);
    for (const rule of rules) this.upsertDestinationRule(rule);
  }

  /** Stored objects: ServiceEntries plus DestinationRules. */
  get size(): number {
    return this.entries.size + this.rules.size;
  }

  get serviceEntryCount(): number {
    return this.entries.size;
  }

  get destinationRuleCount(): number {
    return this.rules.size;
  }

  serviceEntries(): IterableIterator<ServiceEntryView> {
    return this.entries.values();
  }

  destinationRules(): IterableIterator<DestinationRuleView> {
    return this.rules.values();
  }

  /**
   * The ClusterView for reviewing `entry`: it stands in for its stored version (same namespace/name), so an
   * UPDATE is judged as written and hosts the old version dropped no longer find it. Without an entry, the
   * index as stored. The view reads the index live: use it synchronously, as admission does.
   */
  viewFor(entry?: ServiceEntryView, { stale = false, scope = 'cluster' }: ViewOptions = {}): ClusterView {
    return {
      stale,
      scope,
      serviceEntriesForHost: (host, namespace) => {
        const wanted = normalizeHost(host);
        const found: ServiceEntryView[] = [];
        if (entry && declaresHost(entry, wanted) && isVisibleFrom(entry, namespace)) found.push(entry);
        for (const stored of this.entriesByHost.get(wanted)) {
          if (!(entry && sameKey(stored, entry)) && isVisibleFrom(stored, namespace)) found.push(stored);
        }
        return found;
      },
      destinationRulesForHost: (host, namespace) => this.rulesCovering(normalizeHost(host), namespace),
    };
  }

  /** Exact-host rules first, then wildcard rules from the most specific (`*.api.example.com`) to `*`. */
  private rulesCovering(host: string, namespace: string | undefined): DestinationRuleView[] {
    const found: DestinationRuleView[] = [];
    const collect = (key: string) => {
      for (const rule of this.rulesByHost.get(key)) {
        if (namespace === undefined || isRuleVisibleFrom(rule, namespace)) found.push(rule);
      }
    };
    collect(host);
    if (this.wildcardRules === 0) return found;
    // A wildcard rule `*<suffix>` covers the host when the host ends with <suffix>: probe each suffix,
    // O(host length) map lookups, independent of how many rules exist.
    for (let start = 0; start <= host.length; start++) {
      const key = `*${host.slice(start)}`;
      if (key !== host) collect(key);
    }
    return found;
  }

  /**
   * How many distinct auto-allocated hosts lack an expected port, judged exactly as the undeclared-ports rule
   * judges each stored ServiceEntry. For a Prometheus gauge computed at scrape time: one pass over the entries,
   * and cached until the index or the settings object changes.
   */
  hostsWithUndeclaredPorts(settings: RuleSettings): number {
    const cache = this.undeclaredCache;
    if (cache && cache.version === this.version && cache.settings === settings) return cache.count;
    const hosts = new Set<string>();
    for (const entry of this.entries.values()) {
      if (!entry.hosts.some(({ host }) => isAutoAllocated(entry, host, settings.istio.allocator))) continue;
      for (const finding of undeclaredPortsRule(entry, { settings, cluster: this.viewFor(entry) })) {
        if (finding.rule === UNDECLARED_PORTS && finding.host !== undefined) hosts.add(normalizeHost(finding.host));
      }
    }
    this.undeclaredCache = { version: this.version, settings, count: hosts.size };
    return hosts.size;
  }
}
