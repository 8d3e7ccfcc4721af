// Turns findings into what the API server returns. kubectl prints the deny message verbatim after
// `admission webhook "<name>" denied the request:`, so it names the object, every offending field, why, and the fix,
// all in one message: a user who fixes one problem must not be surprised by the next on the following apply.
import type { ServiceEntryView } from '../istio/service-entry.js';
import type { Finding } from './types.js';
import { AUTOALLOCATE_LABEL, STALE_NOTE, UNDECLARED_PORTS } from './undeclared-ports.js';
import { WILDCARD_DNS } from './wildcard-dns.js';

export interface ServiceEntryVerdict {
  denyMessage?: string;
  warnings: string[];
}

function wildcardDnsProblem(entry: ServiceEntryView, findings: readonly Finding[]): string {
  const hosts = findings.map((finding) => `${finding.path} "${finding.host}"`).join(', ');
  return (
    `wildcard hosts cannot use resolution ${entry.resolution}, because DNS cannot resolve a wildcard name ` +
    `(Envoy matches wildcard TLS traffic by SNI instead): ${hosts}. ` +
    `Fix: set resolution: NONE, list concrete hosts, or use resolution: DYNAMIC_DNS (Istio 1.28+).`
  );
}

function undeclaredPortsProblem(findings: readonly Finding[]): string {
  const hosts = findings
    .map((finding) => {
      const missing = finding.missingPorts?.join(',') ?? '?';
      const declared = finding.declaredPorts?.join(',') || 'none';
      return `${finding.path} "${finding.host}" lacks ports ${missing} (declared: ${declared})`;
    })
    .join(', ');
  const stale = findings.some((finding) => finding.message.includes(STALE_NOTE)) ? ` Note: the cluster view may be stale.` : '';
  return (
    `hosts without spec.addresses get an auto-allocated virtual IP that serves only their declared ports, ` +
    `so connections on other ports fail (istio/istio#39080): ${hosts}. ` +
    `Fix: declare the ports in spec.ports, set spec.addresses, or label the ServiceEntry ${AUTOALLOCATE_LABEL}: "false".${stale}`
  );
}

function denyMessage(entry: ServiceEntryView, denials: readonly Finding[]): string {
  const ofRule = (rule: string) => denials.filter((finding) => finding.rule === rule);
  const wildcard = ofRule(WILDCARD_DNS);
  const undeclared = ofRule(UNDECLARED_PORTS);
  const problems = [
    ...(wildcard.length > 0 ? [wildcardDnsProblem(entry, wildcard)] : []),
    ...(undeclared.length > 0 ? [undeclaredPortsProblem(undeclared)] : []),
    // Rules added later still reach the user, with their own self-contained message.
    ...denials.filter((finding) => finding.rule !== WILDCARD_DNS && finding.rule !== UNDECLARED_PORTS).map((finding) => finding.message),
  ];
  const subject = `ServiceEntry ${[entry.namespace, entry.name || '(unnamed)'].filter(Boolean).join('/')} is rejected`;
  if (problems.length === 1) return `${subject}: ${problems[0]}`;
  return `${subject} for ${problems.length} reasons: ${problems.map((problem, index) => `(${index + 1}) ${problem}`).join(' ')}`;
}

export function serviceEntryVerdict(entry: ServiceEntryView, findings: Finding[]): ServiceEntryVerdict {
  const warnings = [...new Set(findings.filter((finding) => finding.severity === 'warn').map((finding) => finding.message))];
  const denials = findings.filter((finding) => finding.severity === 'deny');
  return denials.length > 0 ? { denyMessage: denyMessage(entry, denials), warnings } : { warnings };
}
