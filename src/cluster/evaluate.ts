// Judges every stored ServiceEntry with the admission rules, each against the index as its view, so
// `egress-guard check` and `egress-guard audit` give exactly the verdicts admission would give.
import type { ServiceEntryView } from '../istio/service-entry.js';
import { evaluateServiceEntry } from '../rules/index.js';
import type { Finding, RuleSettings } from '../rules/types.js';
import type { HostIndex } from './host-index.js';

export interface EntryFindings {
  entry: ServiceEntryView;
  findings: Finding[];
}

/** Sorted by namespace, then name, so reports are stable whatever order the objects were read or watched in. */
export function evaluateAll(index: HostIndex, settings: RuleSettings, scope: 'input' | 'cluster'): EntryFindings[] {
  const entries = [...index.serviceEntries()].sort((a, b) =>
    a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  return entries.map((entry) => ({
    entry,
    findings: evaluateServiceEntry(entry, { settings, cluster: index.viewFor(entry, { scope }) }),
  }));
}
