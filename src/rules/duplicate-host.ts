// When several ServiceEntries a sidecar uses declare one host, istiod's IP allocator (PILOT_ENABLE_IP_AUTOALLOCATE,
// the default since Istio 1.25, whatever ISTIO_META_DNS_AUTO_ALLOCATE says) gives each its own virtual IP, and the
// client connects to one of them. Each virtual IP serves only its own entry's ports, so a port that not every entry
// declares fails whenever the client picks another IP (istio/istio#55266). The legacy allocator gives the entries
// of one namespace that share a host name one IP (auto_allocation.go, keyed on namespace/host, istio/istio#40165):
// there is nothing to find. Entries in other namespaces are not used beside this one (sidecar-view.ts).
import { distinctHosts, type ServiceEntryView } from '../istio/service-entry.js';
import { objectName } from './cross-object.js';
import { firstThatFits, shortList } from './short-list.js';
import { clientNamespaces, entriesUsedWith, isAutoAllocated } from './sidecar-view.js';
import type { Finding, ServiceEntryRule } from './types.js';
import { STALE_NOTE } from './undeclared-ports.js';

export const DUPLICATE_HOST = 'duplicate-host';

/** Ports some but not all of the entries declare: those depend on which virtual IP DNS returned. */
function unreliablePorts(entries: readonly ServiceEntryView[]): number[] {
  const declared = entries.map((entry) => new Set(entry.ports.map((port) => port.number)));
  const all = new Set(declared.flatMap((ports) => [...ports]));
  return [...all].filter((port) => !declared.every((ports) => ports.has(port))).sort((a, b) => a - b);
}

/** The other auto-allocated entries used beside `entry` by the first client namespace that uses it. */
function othersWithOwnAddress(
  entry: ServiceEntryView,
  host: string,
  clients: readonly string[],
  cluster: Parameters<ServiceEntryRule>[1]['cluster'],
): readonly ServiceEntryView[] {
  for (const client of clients) {
    const used = entriesUsedWith(entry, host, client, cluster);
    if (used !== undefined) return used.filter((other) => isAutoAllocated(other, host, 'istiod'));
  }
  return [];
}

export const duplicateHostRule: ServiceEntryRule = (entry, { settings, cluster }) => {
  // With only the object at hand there is no other entry to share a host with.
  if (cluster.scope === 'object' || settings.istio.allocator === 'legacy') return [];
  const findings: Finding[] = [];
  const clients = clientNamespaces(entry);
  for (const { host, path } of distinctHosts(entry)) {
    if (!isAutoAllocated(entry, host, 'istiod')) continue;
    const others = othersWithOwnAddress(entry, host, clients, cluster);
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
