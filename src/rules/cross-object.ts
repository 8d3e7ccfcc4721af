// Helpers shared by the rules that compare the entry under review with other ServiceEntries.
import { normalizeHost } from '../istio/hosts.js';
import { isSameObject, type ServiceEntryHost, type ServiceEntryView } from '../istio/service-entry.js';
import type { ClusterView } from './types.js';

/** Each host of the entry once (`Example.com` and `example.com` are one host), with its first path. */
export function distinctHosts(entry: ServiceEntryView): ServiceEntryHost[] {
  const seen = new Set<string>();
  return entry.hosts.filter(({ host }) => {
    const key = normalizeHost(host);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The other ServiceEntries visible from the entry's namespace that declare `host`. The entry itself, and any
 * stored older version of it (an UPDATE), are not "others".
 */
export function otherEntriesForHost(entry: ServiceEntryView, host: string, cluster: ClusterView): ServiceEntryView[] {
  return cluster.serviceEntriesForHost(host, entry.namespace).filter((other) => other !== entry && !isSameObject(other, entry));
}

/** `namespace/name`, as kubectl users type it. */
export function objectName(entry: ServiceEntryView): string {
  return `${entry.namespace}/${entry.name || '(unnamed)'}`;
}
