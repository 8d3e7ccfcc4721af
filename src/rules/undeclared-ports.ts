// Under IP auto-allocation Istio answers DNS for a host with a virtual IP (240.240.x.x) and builds listeners
// on that IP only for the ports some ServiceEntry declares for the host. A connection on any other port goes to
// PassthroughCluster with the virtual IP as its destination, which nothing serves (istio/istio#39080).
import { isWildcardHost } from '../istio/hosts.js';
import {
  AUTOALLOCATE_LABEL,
  distinctHosts,
  EXPECTED_PORTS_ANNOTATION,
  portNumbers,
  type ServiceEntryView,
} from '../istio/service-entry.js';
import { otherEntriesForHost } from './cross-object.js';
import { parsePortList, PortListError } from './port-list.js';
import type { ClusterView, Finding, RuleSettings, ServiceEntryRule } from './types.js';

export const UNDECLARED_PORTS = 'undeclared-ports';
export const EXPECTED_PORTS_ANNOTATION_RULE = 'expected-ports-annotation';
export { AUTOALLOCATE_LABEL, EXPECTED_PORTS_ANNOTATION };
export const STALE_NOTE = '(cluster view may be stale)';

/** Mirrors istiod's shouldAutoAllocate: resolution NONE, own spec.addresses, or the opt-out label turn it off. */
export function isAutoAllocated(entry: ServiceEntryView, host: string): boolean {
  return (
    entry.addresses.length === 0 &&
    entry.resolution !== 'NONE' &&
    !isWildcardHost(host) &&
    // istiod compares with strings.EqualFold, so "False" opts out too.
    entry.labels[AUTOALLOCATE_LABEL]?.toLowerCase() !== 'false'
  );
}

/** The per-entry annotation overrides the setting; a malformed one is reported and the setting used instead. */
function expectedPortsFor(
  entry: ServiceEntryView,
  settings: RuleSettings,
): { ports: readonly number[]; problem?: Finding } {
  if (!Object.hasOwn(entry.annotations, EXPECTED_PORTS_ANNOTATION)) return { ports: settings.expectedPorts };
  const raw = entry.annotations[EXPECTED_PORTS_ANNOTATION] ?? '';
  let message: string;
  try {
    const ports = parsePortList(raw, EXPECTED_PORTS_ANNOTATION);
    if (ports.length > 0) return { ports };
    // An empty list would silently switch the check off; the opt-outs that change Istio's behaviour are explicit.
    message = `${EXPECTED_PORTS_ANNOTATION} is empty; expected a comma-separated list like "80,443"`;
  } catch (error) {
    if (!(error instanceof PortListError)) throw error;
    message = error.message;
  }
  const problem: Finding = {
    rule: EXPECTED_PORTS_ANNOTATION_RULE,
    severity: 'warn',
    message,
    path: `metadata.annotations["${EXPECTED_PORTS_ANNOTATION}"]`,
  };
  return { ports: settings.expectedPorts, problem };
}

/**
 * Ports declared for `host` by every ServiceEntry visible from the entry's namespace, ascending. The entry under
 * review counts as written now: the cluster's copy of it (an UPDATE's old version) is replaced, not merged.
 */
function declaredPortsFor(entry: ServiceEntryView, host: string, cluster: ClusterView): readonly number[] {
  const others = otherEntriesForHost(entry, host, cluster);
  if (others.length === 0) return portNumbers(entry);
  const ports = new Set(portNumbers(entry));
  for (const other of others) for (const port of portNumbers(other)) ports.add(port);
  return [...ports].sort((a, b) => a - b);
}

function undeclaredMessage(
  host: string,
  missing: readonly number[],
  declared: readonly number[],
  stale: boolean,
): string {
  const several = missing.length > 1;
  return (
    `${host}: ${several ? 'ports' : 'port'} ${missing.join(',')} undeclared (declared: ${declared.join(',') || 'none'}); ` +
    `declare ${several ? 'them' : 'it'} or set spec.addresses${stale ? ` ${STALE_NOTE}` : ''}`
  );
}

export const undeclaredPortsRule: ServiceEntryRule = (entry, { settings, cluster }) => {
  const expected = expectedPortsFor(entry, settings);
  const findings: Finding[] = expected.problem ? [expected.problem] : [];
  // A host that no other entry declares lacks what the entry itself lacks: worked out once, not once per host. Read
  // from entry.ports, not portNumbers(entry): with only the object at hand nothing else needs the entry's memo.
  const ownMissing = expected.ports.filter((port) => !entry.ports.some((declared) => declared.number === port));
  // With only the object at hand every host is such a host.
  if (cluster.scope === 'object' && ownMissing.length === 0) return findings;
  const own = portNumbers(entry);
  for (const { host, path } of distinctHosts(entry)) {
    if (!isAutoAllocated(entry, host)) continue;
    const declaredPorts = declaredPortsFor(entry, host, cluster);
    const missingPorts =
      declaredPorts === own ? ownMissing : expected.ports.filter((port) => !declaredPorts.includes(port));
    if (missingPorts.length === 0) continue;
    findings.push({
      rule: UNDECLARED_PORTS,
      severity: settings.undeclaredPortsAction,
      message: undeclaredMessage(host, missingPorts, declaredPorts, cluster.stale),
      path,
      host,
      missingPorts,
      declaredPorts,
    });
  }
  return findings;
};
