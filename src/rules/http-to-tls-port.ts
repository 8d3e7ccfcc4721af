// The TLS-origination pattern (seed 000): clients speak plain HTTP to port 80, the ServiceEntry forwards it to
// targetPort 443, and a DestinationRule makes the sidecar start TLS on port 80. Without that DestinationRule,
// plaintext reaches a TLS server and every request fails.
import { originatesTls } from '../istio/destination-rule.js';
import { distinctHosts } from '../istio/service-entry.js';
import { firstThatFits } from './short-list.js';
import type { Finding, ServiceEntryRule } from './types.js';
import { STALE_NOTE } from './undeclared-ports.js';

export const HTTP_TO_TLS_PORT = 'http-to-tls-port';

/** Protocols the sidecar sends in cleartext unless a DestinationRule says otherwise. */
const PLAINTEXT_HTTP: ReadonlySet<string> = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);
const TLS_PORT = 443;

export const httpToTlsPortRule: ServiceEntryRule = (entry, { settings, cluster }) => {
  // The finding is about a DestinationRule that does not exist; with only the object at hand we cannot know.
  if (cluster.scope === 'object') return [];
  // An unset targetPort means the port number itself: HTTP declared on 443 is the same trap.
  const ports = entry.ports.filter(
    (port) => PLAINTEXT_HTTP.has(port.protocol) && (port.targetPort ?? port.number) === TLS_PORT,
  );
  if (ports.length === 0) return [];
  // Files given to `check` often leave metadata.namespace to `kubectl -n`, so there any DestinationRule in the
  // input counts; in a cluster only those visible from the entry's namespace (exportTo) do.
  const namespace = cluster.scope === 'input' ? undefined : entry.namespace;
  const stale = cluster.stale ? ` ${STALE_NOTE}` : '';
  const findings: Finding[] = [];
  for (const { host } of distinctHosts(entry)) {
    const rules = cluster.destinationRulesForHost(host, namespace);
    for (const port of ports) {
      if (rules.some((rule) => originatesTls(rule, port.number))) continue;
      findings.push({
        rule: HTTP_TO_TLS_PORT,
        severity: settings.undeclaredPortsAction,
        message: firstThatFits([
          `${host}:${port.number} sends plain HTTP to port ${TLS_PORT}; no DestinationRule sets tls.mode SIMPLE${stale}`,
          `${host}:${port.number} sends plain HTTP to ${TLS_PORT}: no DestinationRule originates TLS${stale}`,
        ]),
        path: port.path,
        host,
        ports: [port.number],
      });
    }
  }
  return findings;
};
