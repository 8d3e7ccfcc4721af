// Resolution DNS or DNS_ROUND_ROBIN without endpoints makes Envoy resolve the hosts themselves, and a wildcard
// like "*.example.com" is not a name DNS can resolve. istiod's own validation rejects exactly this
// (ValidateServiceEntry, pkg/config/validation/validation.go: "hosts must be FQDN ... if no endpoints are provided");
// with endpoints, the endpoints' names are resolved instead and istiod accepts the entry, so do we. The deny
// explains and fixes, and holds where istiod's validating webhook is off or fails open.
import { isWildcardHost } from '../istio/hosts.js';
import type { ServiceEntryHost, ServiceEntryView } from '../istio/service-entry.js';
import { sidecarsSupportDynamicDns, type IstioTarget } from '../istio/version.js';
import type { Finding, ServiceEntryRule } from './types.js';

export const WILDCARD_DNS = 'wildcard-dns';

const DNS_RESOLUTIONS: ReadonlySet<string> = new Set(['DNS', 'DNS_ROUND_ROBIN']);

/** What istiod's validation allows with DYNAMIC_DNS (the Dynamic Forward Proxy): protocol.Parse of these only. */
const DYNAMIC_DNS_PROTOCOLS: ReadonlySet<string> = new Set(['HTTP', 'TLS', 'GRPC', 'HTTP2']);

/**
 * Whether the entry's other fields would pass istiod's DYNAMIC_DNS checks (no addresses, no endpoints, only
 * HTTP/TLS/GRPC/HTTP2 ports) and the release serves DYNAMIC_DNS to sidecars (1.30+; 1.28 and 1.29 only to waypoints).
 */
function dynamicDnsFits(entry: ServiceEntryView, istio: IstioTarget): boolean {
  return (
    sidecarsSupportDynamicDns(istio.version) &&
    entry.addresses.length === 0 &&
    entry.endpointCount === 0 &&
    entry.ports.every((port) => DYNAMIC_DNS_PROTOCOLS.has(port.protocol))
  );
}

/** DYNAMIC_DNS only where it works; it also needs every host to be a wildcard, so mixed entries are split. */
export function wildcardDnsFix(entry: ServiceEntryView, istio: IstioTarget): string {
  const resolutions = dynamicDnsFits(entry, istio) ? 'DYNAMIC_DNS or NONE' : 'NONE';
  return entry.hosts.every(({ host }) => isWildcardHost(host))
    ? `use resolution ${resolutions}${resolutions === 'NONE' ? ', or list concrete hosts' : ''}`
    : `move the wildcards to an entry with resolution ${resolutions}`;
}

export const wildcardDnsRule: ServiceEntryRule = (entry, { settings }) => {
  if (!DNS_RESOLUTIONS.has(entry.resolution) || entry.endpointCount > 0) return [];
  const findings: Finding[] = [];
  let fix: string | undefined;
  for (const declared of entry.hosts as readonly ServiceEntryHost[]) {
    if (!isWildcardHost(declared.host)) continue;
    const { host, path } = declared;
    fix ??= wildcardDnsFix(entry, settings.istio);
    findings.push({
      rule: WILDCARD_DNS,
      severity: 'deny',
      message: `${path} "${host}": a wildcard host cannot use resolution ${entry.resolution} without endpoints; ${fix}`,
      fix,
      path,
      host,
    });
  }
  return findings;
};
