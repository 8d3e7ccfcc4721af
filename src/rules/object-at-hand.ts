// The ClusterView used when no cluster is known (before the index syncs, or a single object checked alone):
// the object under review is the only ServiceEntry in the world, and no DestinationRule is known.
import { declaresHost, isVisibleFrom, type ServiceEntryView } from '../istio/service-entry.js';
import type { DestinationRuleView } from '../istio/destination-rule.js';
import type { ClusterView } from './types.js';

export function objectAtHandView(entry: ServiceEntryView): ClusterView {
  const alone: readonly ServiceEntryView[] = [entry];
  return {
    stale: false,
    // 'object': rules that need the absence of something elsewhere (a DestinationRule) must stay silent.
    scope: 'object',
    serviceEntriesForHost: (host, namespace) =>
      declaresHost(entry, host) && isVisibleFrom(entry, namespace) ? alone : NOTHING,
    destinationRulesForHost: () => NO_RULES,
  };
}

const NOTHING: readonly ServiceEntryView[] = Object.freeze([]);
const NO_RULES: readonly DestinationRuleView[] = Object.freeze([]);
