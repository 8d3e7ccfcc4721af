// The ClusterView used when no cluster is known (the `check` CLI, or before the informer index syncs):
// the object under review is the only ServiceEntry in the world.
import { declaresHost, isVisibleFrom, type ServiceEntryView } from '../istio/service-entry.js';
import type { ClusterView } from './types.js';

export function objectAtHandView(entry: ServiceEntryView): ClusterView {
  return {
    stale: false,
    serviceEntriesForHost: (host, namespace) => (declaresHost(entry, host) && isVisibleFrom(entry, namespace) ? [entry] : []),
  };
}
