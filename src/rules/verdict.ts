// Turns findings into what the API server returns. kubectl prints the deny message verbatim after
// `admission webhook "<name>" denied the request:`, so it names the object, every offending field, why, and the fix,
// all in one message: a user who fixes one problem must not be surprised by the next on the following apply.
import type { ServiceEntryView } from '../istio/service-entry.js';
import { CONFLICTING_PROTOCOLS } from './conflicting-protocols.js';
import { DUPLICATE_HOST } from './duplicate-host.js';
import { HTTP_TO_TLS_PORT } from './http-to-tls-port.js';
import type { Finding } from './types.js';
import { STALE_NOTE, UNDECLARED_PORTS } from './undeclared-ports.js';
import { WILDCARD_DNS } from './wildcard-dns.js';

export interface ServiceEntryVerdict {
  denyMessage?: string;
  warnings: string[];
}

function wildcardDnsProblem(findings: readonly Finding[], entry: ServiceEntryView): string {
  const hosts = findings.map((finding) => `${finding.path} "${finding.host}"`).join(', ');
  const fix = findings[0]?.fix ?? 'use resolution NONE';
  return (
    `wildcard hosts cannot use resolution ${entry.resolution} without endpoints, because DNS cannot resolve a ` +
    `wildcard name; istiod's validation rejects this too: ${hosts}. Fix: ${fix}.`
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
  const fix = findings[0]?.fix ?? 'declare the ports in spec.ports, or set spec.addresses';
  return (
    `hosts without spec.addresses get an auto-allocated virtual IP that serves only their declared ports, ` +
    `so connections on other ports fail (istio/istio#39080): ${hosts}. Fix: ${fix}.`
  );
}

function duplicateHostProblem(findings: readonly Finding[]): string {
  const hosts = findings
    .map(
      (finding) =>
        `${finding.path} "${finding.host}" also in ${finding.others?.join(', ')} (unreliable ports: ${finding.ports?.join(',')})`,
    )
    .join(', ');
  return (
    `a host declared by several auto-allocated ServiceEntries gets one virtual IP per entry, and DNS answers with only one, ` +
    `so ports that not every entry declares fail (istio/istio#55266): ${hosts}. ` +
    `Fix: declare each host in a single ServiceEntry that lists all its ports.`
  );
}

function conflictingProtocolsProblem(findings: readonly Finding[]): string {
  const ports = findings
    .map((finding) => {
      const [ours, ...theirs] = finding.protocols ?? [];
      return `${finding.path} "${finding.host}":${finding.ports?.join(',')} (${ours} here, ${theirs.join(', ')} in ${finding.others?.join(', ')})`;
    })
    .join(', ');
  return (
    `ServiceEntries that declare one host and port with different protocols conflict, and Istio applies only one protocol: ${ports}. ` +
    `Fix: use the same protocol for a host and port in every ServiceEntry.`
  );
}

function httpToTlsPortProblem(findings: readonly Finding[]): string {
  const ports = findings.map((finding) => `${finding.path} "${finding.host}":${finding.ports?.join(',')}`).join(', ');
  return (
    `a plain-HTTP port forwarded to 443 sends plaintext to a TLS server unless a DestinationRule originates TLS on it: ${ports}. ` +
    `Fix: add a DestinationRule for the host whose trafficPolicy.portLevelSettings sets tls.mode: SIMPLE for that port, ` +
    `or declare the port with protocol TLS and let clients speak TLS.`
  );
}

/** Rules with a combined explanation, in report order; each turns all its denials into one problem. */
const PROBLEMS: readonly {
  rule: string;
  problem: (findings: readonly Finding[], entry: ServiceEntryView) => string;
}[] = [
  { rule: WILDCARD_DNS, problem: wildcardDnsProblem },
  { rule: UNDECLARED_PORTS, problem: undeclaredPortsProblem },
  { rule: DUPLICATE_HOST, problem: duplicateHostProblem },
  { rule: CONFLICTING_PROTOCOLS, problem: conflictingProtocolsProblem },
  { rule: HTTP_TO_TLS_PORT, problem: httpToTlsPortProblem },
];

function denyMessage(entry: ServiceEntryView, denials: readonly Finding[]): string {
  const explained = new Set(PROBLEMS.map(({ rule }) => rule));
  const problems = [
    ...PROBLEMS.flatMap(({ rule, problem }) => {
      const findings = denials.filter((finding) => finding.rule === rule);
      return findings.length > 0 ? [problem(findings, entry)] : [];
    }),
    // Rules added later still reach the user, with their own self-contained message.
    ...denials.filter((finding) => !explained.has(finding.rule)).map((finding) => finding.message),
  ];
  // Said once, at the end: it qualifies every cross-object problem above.
  const stale = denials.some((finding) => finding.message.includes(STALE_NOTE))
    ? ` Note: the cluster view may be stale.`
    : '';
  const subject = `ServiceEntry ${[entry.namespace, entry.name || '(unnamed)'].filter(Boolean).join('/')} is rejected`;
  if (problems.length === 1) return `${subject}: ${problems[0]}${stale}`;
  return `${subject} for ${problems.length} reasons: ${problems.map((problem, index) => `(${index + 1}) ${problem}`).join(' ')}${stale}`;
}

export function serviceEntryVerdict(entry: ServiceEntryView, findings: Finding[]): ServiceEntryVerdict {
  const warnings = [
    ...new Set(findings.filter((finding) => finding.severity === 'warn').map((finding) => finding.message)),
  ];
  const denials = findings.filter((finding) => finding.severity === 'deny');
  return denials.length > 0 ? { denyMessage: denyMessage(entry, denials), warnings } : { warnings };
}
