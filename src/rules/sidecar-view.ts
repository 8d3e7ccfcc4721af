// What a DNS-capturing sidecar makes of the ServiceEntries that declare one host: which entries it uses, and
// which of them get an auto-allocated virtual IP under the allocator in force.
import { isWildcardHost } from '../istio/hosts.js';
import { AUTOALLOCATE_LABEL, isSameObject, isVisibleFrom, type ServiceEntryView } from '../istio/service-entry.js';
import type { IpAllocator } from '../istio/version.js';
import type { ClusterView } from './types.js';

/**
 * Whether `host` of `entry` gets an auto-allocated virtual IP. istiod's allocator
 * (pilot/pkg/networking/serviceentry/ip_autoallocation.go shouldV2AutoAllocateIPFromPieces, and keepHost in
 * pilot/pkg/controllers/ipallocate): not NONE, no spec.addresses, no opt-out label (compared with EqualFold), and
 * wildcards only with DYNAMIC_DNS. The legacy allocator (pilot/pkg/serviceregistry/serviceentry/auto_allocation.go
 * autoAllocateIPs): not NONE, no spec.addresses, never a wildcard, and the label means nothing to it.
 */
export function isAutoAllocated(entry: ServiceEntryView, host: string, allocator: IpAllocator): boolean {
  if (entry.addresses.length > 0 || entry.resolution === 'NONE') return false;
  if (allocator === 'legacy') return !isWildcardHost(host);
  return (
    entry.labels[AUTOALLOCATE_LABEL]?.toLowerCase() !== 'false' &&
    (!isWildcardHost(host) || entry.resolution === 'DYNAMIC_DNS')
  );
}

/**
 * The namespaces whose sidecars the rules judge the entry for: its own namespace when the entry is visible there
 * (the common case, and where the entry always wins), else the namespaces its exportTo names.
 */
export function clientNamespaces(entry: ServiceEntryView): readonly string[] {
  if (isVisibleFrom(entry, entry.namespace)) return [entry.namespace];
  return [...new Set(entry.exportTo.filter((to) => to !== '*' && to !== '.' && to !== '~'))];
}

/**
 * The other entries a sidecar in `client` uses together with `entry` for `host`, or undefined when it does not use
 * `entry` at all. A sidecar keeps one namespace's entries per host name, its own namespace first
 * (pilot/pkg/model/sidecar.go, IstioEgressListenerWrapper.selectServices); entries in other namespaces are not
 * merged in, so their ports are not reachable from `client`. When `client` has no entry of its own, Istio takes
 * the first namespace in its service order (entries exported to `client` by name, then public ones, oldest
 * first); the rules assume the entry's own namespace there, as creation times are not known in every source.
 */
export function entriesUsedWith(
  entry: ServiceEntryView,
  host: string,
  client: string,
  cluster: ClusterView,
): readonly ServiceEntryView[] | undefined {
  const visible = cluster.serviceEntriesForHost(host, client);
  if (visible.length === 0 || (visible.length === 1 && visible[0] === entry)) return NONE;
  if (entry.namespace !== client && visible.some((other) => other.namespace === client)) return undefined;
  return visible.filter(
    (other) => other.namespace === entry.namespace && other !== entry && !isSameObject(other, entry),
  );
}

const NONE: readonly ServiceEntryView[] = Object.freeze([]);
