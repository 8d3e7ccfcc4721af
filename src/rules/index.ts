// Every ServiceEntry rule, in the order their findings are reported.
import type { ServiceEntryView } from '../istio/service-entry.js';
import type { Finding, RuleContext, ServiceEntryRule } from './types.js';
import { undeclaredPortsRule } from './undeclared-ports.js';
import { wildcardDnsRule } from './wildcard-dns.js';

export const serviceEntryRules: readonly ServiceEntryRule[] = [wildcardDnsRule, undeclaredPortsRule];

export function evaluateServiceEntry(entry: ServiceEntryView, context: RuleContext): Finding[] {
  return serviceEntryRules.flatMap((rule) => rule(entry, context));
}
