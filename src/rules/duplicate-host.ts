// When several ServiceEntries declare one host, the IP allocator of istiod (PILOT_ENABLE_IP_AUTOALLOCATE, the
// default since Istio 1.25, whatever ISTIO_META_DNS_AUTO_ALLOCATE says) gives each its own virtual IP, but DNS
// answers with only one of them. Each virtual IP serves only its own entry's ports, so a port that not every entry
// declares is unreachable whenever DNS picks the other IP (istio/istio#55266). (The older per-proxy allocation
// reused one IP per host name, istio/istio#40165; there the finding is a false alarm.)
import { distinctHosts, type ServiceEntryView } from '../istio/service-entry.js';
import { objectName, otherEntriesForHost } from './cross-object.js';
import { firstThatFits, shortList } from './short-list.js';
import type { Finding, ServiceEntryRule } from './types.js';
import { STALE_NOTE, isAutoAllocated } from './undeclared-ports.js';

export const DUPLICATE_HOST = 'duplicate-host';

/** Ports some but not all of the entries declare: those depend on which virtual IP DNS returned. */
function unreliablePorts(entries: readonly ServiceEntryView[]): number[] {
  const declared = entries.map((entry) => new Set(entry.ports.map((port) => port.number)));
  const all = new Set(declared.flatMap((ports) => [...ports]));
  return [...all].filter((port) => !declared.every((ports) => ports.has(port))).sort((a, b) => a - b);
}

export const duplicateHostRule: ServiceEntryRule = (entry, { settings, cluster }) => {
  // With only the object at hand there is no other entry to share a host with.
  if (cluster.scope === 'object') return [];
  const findings: Finding[] = [];
  for (const { host, path } of distinctHosts(entry)) {
    if (!isAutoAllocated(entry, host)) continue;
    const others = otherEntriesForHost(entry, host, cluster).filter((other) => isAutoAllocated(other, host));
    if (others.length === 0) continue;
    // Entries that declare the same ports are harmless duplicates: whichever IP DNS returns serves them all.
    const ports = unreliablePorts([entry, ...others]);
    if (ports.length === 0) continue;
    const names = others.map(objectName).sort();
    const stale = cluster.stale ? ` ${STALE_NOTE}` : '';
    const render = (maxNames: number, maxPorts: number, reference: string) =>
      `${host} is also declared by ${shortList(names, maxNames)}: ${ports.length > 1 ? 'ports' : 'port'} ${shortList(ports, maxPorts, ',')} ` +
      `unreliable${reference}${stale}`;
    findings.push({
      rule: DUPLICATE_HOST,
      severity: settings.undeclaredPortsAction,
      // Long names give way in order: other names, then the issue reference, then ports; the fields keep it all.
      message: firstThatFits([
        render(2, 6, ' (istio#55266)'),
        render(1, 6, ' (istio#55266)'),
        render(1, 6, ''),
        render(1, 2, ''),
        `${host} is also declared by ${names.length} other ${names.length > 1 ? 'ServiceEntries' : 'ServiceEntry'}: ` +
          `${ports.length} ${ports.length > 1 ? 'ports' : 'port'} unreliable${stale}`,
      ]),
      path,
      host,
      others: names,
      ports,
    });
  }
  return findings;
};
