// Under IP auto-allocation Istio answers DNS for a host with a virtual IP (240.240.x.x) and builds listeners
// on that IP only for the ports some ServiceEntry declares for the host. A connection on any other port goes to
// PassthroughCluster with the virtual IP as its destination, which nothing serves (istio/istio#39080).
// Only entries that get the virtual IP count: a port declared only by a resolution NONE entry of the host routes to
// a cluster that is not there, as services of different resolutions are not merged (istio/istio#54988); a port
// declared only in another namespace's entry is not in this namespace's sidecars at all.
import {
  AUTOALLOCATE_LABEL,
  distinctHosts,
  EXPECTED_PORTS_ANNOTATION,
  portNumbers,
  type ServiceEntryView,
} from '../istio/service-entry.js';
import type { IpAllocator } from '../istio/version.js';
import { parsePortList, PortListError } from './port-list.js';
import { clientNamespaces, entriesUsedWith, isAutoAllocated } from './sidecar-view.js';
import type { ClusterView, Finding, RuleSettings, ServiceEntryRule } from './types.js';

export const UNDECLARED_PORTS = 'undeclared-ports';
export const EXPECTED_PORTS_ANNOTATION_RULE = 'expected-ports-annotation';
export { AUTOALLOCATE_LABEL, EXPECTED_PORTS_ANNOTATION, isAutoAllocated };
export const STALE_NOTE = '(cluster view may be stale)';

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
 * Ports a sidecar in `client` reaches on the host's virtual IP: those of the entries it uses for the host that get
 * a virtual IP, ascending; undefined when it does not use the entry. The entry under review counts as written now.
 */
function declaredPortsFor(
  entry: ServiceEntryView,
  host: string,
  client: string,
  cluster: ClusterView,
  allocator: IpAllocator,
): readonly number[] | undefined {
  const others = entriesUsedWith(entry, host, client, cluster);
  if (others === undefined) return undefined;
  const allocated = others.filter((other) => isAutoAllocated(other, host, allocator));
  if (allocated.length === 0) return portNumbers(entry);
  const ports = new Set(portNumbers(entry));
  for (const other of allocated) for (const port of portNumbers(other)) ports.add(port);
  return [...ports].sort((a, b) => a - b);
}

/** The opt-out label is honoured only by istiod's allocator (1.25+ by default). */
export function undeclaredPortsFix(allocator: IpAllocator): string {
  return allocator === 'istiod'
    ? `declare the ports in spec.ports, set spec.addresses, or label the ServiceEntry ${AUTOALLOCATE_LABEL}: "false"`
    : 'declare the ports in spec.ports, or set spec.addresses';
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
  const { allocator } = settings.istio;
  // A host that no other entry declares lacks what the entry itself lacks: worked out once, not once per host.
  const ownMissing = expected.ports.filter((port) => !entry.ports.some((declared) => declared.number === port));
  // With only the object at hand every host is such a host.
  if (cluster.scope === 'object' && ownMissing.length === 0) return findings;
  const own = portNumbers(entry);
  const clients = clientNamespaces(entry);
  for (const { host, path } of distinctHosts(entry)) {
    if (!isAutoAllocated(entry, host, allocator)) continue;
    for (const client of clients) {
      const declaredPorts = declaredPortsFor(entry, host, client, cluster, allocator);
      if (declaredPorts === undefined) continue;
      const missingPorts =
        declaredPorts === own ? ownMissing : expected.ports.filter((port) => !declaredPorts.includes(port));
      if (missingPorts.length === 0) continue;
      findings.push({
        rule: UNDECLARED_PORTS,
        severity: settings.undeclaredPortsAction,
        message: undeclaredMessage(host, missingPorts, declaredPorts, cluster.stale),
        fix: undeclaredPortsFix(allocator),
        path,
        host,
        missingPorts,
        declaredPorts,
      });
      // One finding per host: the first namespace whose sidecars miss a port.
      break;
    }
  }
  return findings;
};
