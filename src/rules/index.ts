// Every ServiceEntry rule, in the order their findings are reported.
import type { ServiceEntryView } from '../istio/service-entry.js';
import { conflictingProtocolsRule } from './conflicting-protocols.js';
import { duplicateHostRule } from './duplicate-host.js';
import { httpToTlsPortRule } from './http-to-tls-port.js';
import type { Finding, RuleContext, ServiceEntryRule } from './types.js';
import { undeclaredPortsRule } from './undeclared-ports.js';
import { wildcardDnsRule } from './wildcard-dns.js';

export const serviceEntryRules: readonly ServiceEntryRule[] = [
  wildcardDnsRule,
  undeclaredPortsRule,
  duplicateHostRule,
  conflictingProtocolsRule,
  httpToTlsPortRule,
];

export function evaluateServiceEntry(entry: ServiceEntryView, context: RuleContext): Finding[] {
  // A loop, not flatMap: most rules find nothing, and flatMap costs a closure and an intermediate array per review.
  const findings: Finding[] = [];
  for (const rule of serviceEntryRules) for (const finding of rule(entry, context)) findings.push(finding);
  return findings;
}
