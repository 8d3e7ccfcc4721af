// A wildcard host cannot be resolved by DNS: Envoy would look up the literal "*.example.com" and find nothing,
// so resolution DNS / DNS_ROUND_ROBIN on a wildcard host silently breaks the traffic it was meant to carry.
// Wildcard egress is matched by SNI with resolution NONE, or (Istio 1.28+) by DYNAMIC_DNS.
import { isWildcardHost } from '../istio/hosts.js';
import type { ServiceEntryHost } from '../istio/service-entry.js';
import type { Finding, ServiceEntryRule } from './types.js';

export const WILDCARD_DNS = 'wildcard-dns';

const DNS_RESOLUTIONS: ReadonlySet<string> = new Set(['DNS', 'DNS_ROUND_ROBIN']);

export const wildcardDnsRule: ServiceEntryRule = (entry) => {
  if (!DNS_RESOLUTIONS.has(entry.resolution)) return [];
  // An index loop reading only `host` until a wildcard turns up, not filter/map or a destructuring for-of: most
  // entries with DNS resolution list concrete hosts, and this runs for all of them (callgrind, a 20-host review with
  // no wildcard: 1.3k instructions with the for-of, 1.1k now).
  const findings: Finding[] = [];
  const { hosts } = entry;
  for (let index = 0; index < hosts.length; index++) {
    const declared = hosts[index] as ServiceEntryHost;
    if (!isWildcardHost(declared.host)) continue;
    const { host, path } = declared;
    findings.push({
      rule: WILDCARD_DNS,
      severity: 'deny',
      message: `${path} "${host}": a wildcard host cannot use resolution ${entry.resolution}; use NONE or DYNAMIC_DNS (Istio 1.28+)`,
      path,
      host,
    });
  }
  return findings;
};
