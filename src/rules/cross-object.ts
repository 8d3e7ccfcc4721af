// Helpers shared by the rules that compare the entry under review with other ServiceEntries.
import { isSameObject, type ServiceEntryView } from '../istio/service-entry.js';
import type { ClusterView } from './types.js';

/**
 * The other ServiceEntries visible from the entry's namespace that declare `host`. The entry itself, and any
 * stored older version of it (an UPDATE), are not "others".
 */
export function otherEntriesForHost(
  entry: ServiceEntryView,
  host: string,
  cluster: ClusterView,
): readonly ServiceEntryView[] {
  const visible = cluster.serviceEntriesForHost(host, entry.namespace);
  // Most hosts are declared once: by the entry itself, and there is nothing to filter.
  if (visible.length === 0 || (visible.length === 1 && visible[0] === entry)) return NONE;
  return visible.filter((other) => other !== entry && !isSameObject(other, entry));
}

const NONE: readonly ServiceEntryView[] = Object.freeze([]);

/** `namespace/name`, as kubectl users type it. */
export function objectName(entry: ServiceEntryView): string {
  return `${entry.namespace}/${entry.name || '(unnamed)'}`;
}
