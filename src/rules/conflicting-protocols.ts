// Istio builds one listener, route and cluster per host and port. When ServiceEntries declare the same host and
// port with different protocols, only one protocol wins, and traffic of the other kind is mishandled
// (plain TCP proxied as HTTP, or HTTP passed through as opaque TCP).
import { distinctHosts, type ServiceEntryPort, type ServiceEntryView } from '../istio/service-entry.js';
import { objectName, otherEntriesForHost } from './cross-object.js';
import { firstThatFits, shortList } from './short-list.js';
import type { Finding, ServiceEntryRule } from './types.js';
import { STALE_NOTE } from './undeclared-ports.js';

export const CONFLICTING_PROTOCOLS = 'conflicting-protocols';

/**
 * Istio handles HTTPS like TLS (SNI passthrough) and gRPC like HTTP2, so those pairs do not conflict.
 * An unset protocol is left to detection and never counted as a conflict.
 */
const SAME_HANDLING: Readonly<Record<string, string>> = { HTTPS: 'TLS', GRPC: 'HTTP2', 'GRPC-WEB': 'HTTP2' };

function handling(protocol: string): string {
  return SAME_HANDLING[protocol] ?? protocol;
}

/** Each protocol the others declare for this port number that Istio handles differently -> who declares it, sorted. */
function conflictsFor(port: ServiceEntryPort, others: readonly ServiceEntryView[]): Map<string, string[]> {
  const conflicts = new Map<string, Set<string>>();
  for (const other of others) {
    for (const theirs of other.ports) {
      if (
        theirs.number !== port.number ||
        theirs.protocol === '' ||
        handling(theirs.protocol) === handling(port.protocol)
      )
        continue;
      conflicts.set(theirs.protocol, (conflicts.get(theirs.protocol) ?? new Set()).add(objectName(other)));
    }
  }
  return new Map(
    [...conflicts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([protocol, names]) => [protocol, [...names].sort()]),
  );
}

function message(
  host: string,
  port: ServiceEntryPort,
  conflicts: Map<string, string[]>,
  names: readonly string[],
  stale: string,
): string {
  const render = (maxNames: number, tail: string) => {
    const where = [...conflicts].map(([protocol, declaring]) => `${protocol} in ${shortList(declaring, maxNames)}`);
    return `${host}:${port.number} is ${port.protocol} here but ${shortList(where, 2, ' and ')}${tail}${stale}`;
  };
  return firstThatFits([
    render(2, '; Istio applies only one'),
    render(1, '; Istio applies only one'),
    render(1, ''),
    `${host}:${port.number} is ${port.protocol} here but ${[...conflicts.keys()].join(', ')} in ${names.length} other ` +
      `${names.length > 1 ? 'ServiceEntries' : 'ServiceEntry'}${stale}`,
  ]);
}

export const conflictingProtocolsRule: ServiceEntryRule = (entry, { settings, cluster }) => {
  // With only the object at hand there is no other entry to disagree with.
  if (cluster.scope === 'object') return [];
  const findings: Finding[] = [];
  for (const { host } of distinctHosts(entry)) {
    const others = otherEntriesForHost(entry, host, cluster);
    if (others.length === 0) continue;
    for (const port of entry.ports) {
      if (port.protocol === '') continue;
      const conflicts = conflictsFor(port, others);
      if (conflicts.size === 0) continue;
      const names = [...new Set([...conflicts.values()].flat())].sort();
      findings.push({
        rule: CONFLICTING_PROTOCOLS,
        severity: settings.undeclaredPortsAction,
        message: message(host, port, conflicts, names, cluster.stale ? ` ${STALE_NOTE}` : ''),
        path: port.path,
        host,
        others: names,
        ports: [port.number],
        protocols: [port.protocol, ...conflicts.keys()],
      });
    }
  }
  return findings;
};
