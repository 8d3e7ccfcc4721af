// `-o sarif`: SARIF 2.1.0 for code-scanning views (GitHub code scanning, GitLab, IDE viewers). One run, its rules
// from the rule ids that found something, each result at its file and line. Info findings (previews of what the
// mutating webhook would add) are not problems to fix, so they are left out. Pure.
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { CONFLICTING_PROTOCOLS } from '../rules/conflicting-protocols.js';
import { DUPLICATE_HOST } from '../rules/duplicate-host.js';
import { HTTP_TO_TLS_PORT } from '../rules/http-to-tls-port.js';
import { EXPECTED_PORTS_ANNOTATION_RULE, UNDECLARED_PORTS } from '../rules/undeclared-ports.js';
import { WILDCARD_DNS } from '../rules/wildcard-dns.js';
import { MISSING_DNS_CAPTURE, UNEDITABLE_PROXY_CONFIG } from './audit.js';
import { DUPLICATE_OBJECT } from './check.js';
import { STDIN_NAME } from './load-manifests.js';
import { describeObject, type Report, type ReportFinding } from './report.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const INFORMATION_URI = 'https://github.com/egress-guard/egress-guard';

/** What each rule id means, for the rule list code-scanning views show beside a result. */
const RULE_HELP: Readonly<Record<string, { short: string; help: string }>> = {
  [WILDCARD_DNS]: {
    short: 'Wildcard host with resolution DNS',
    help: 'DNS cannot resolve a wildcard name (Envoy matches wildcard TLS traffic by SNI instead). Set resolution: NONE, list concrete hosts, or use resolution: DYNAMIC_DNS (Istio 1.28+).',
  },
  [UNDECLARED_PORTS]: {
    short: 'Auto-allocated host without its expected ports',
    help: 'Under IP auto-allocation Istio builds listeners on the virtual IP only for the ports some ServiceEntry declares for the host; a connection on any other port reaches nothing. Declare the ports, or set spec.addresses.',
  },
  [DUPLICATE_HOST]: {
    short: 'Host declared by several auto-allocated ServiceEntries',
    help: 'Each ServiceEntry gets its own virtual IP but DNS answers with only one, so a port that not every entry declares is unreachable whenever DNS picks the other IP. Declare the same ports in each, or merge them.',
  },
  [CONFLICTING_PROTOCOLS]: {
    short: 'One host:port declared with different protocols',
    help: 'Istio builds one listener, route and cluster per host and port, so only one protocol wins and traffic of the other kind is mishandled. Use one protocol.',
  },
  [HTTP_TO_TLS_PORT]: {
    short: 'Plain HTTP sent to port 443',
    help: 'A port with protocol HTTP and targetPort 443 sends plaintext to a TLS server unless a DestinationRule originates TLS (SIMPLE or MUTUAL) for it. Add that DestinationRule.',
  },
  [EXPECTED_PORTS_ANNOTATION_RULE]: {
    short: 'Malformed egress-guard.io/expected-ports annotation',
    help: 'The annotation does not parse as a list of ports; the configured expected ports are used instead.',
  },
  [DUPLICATE_OBJECT]: {
    short: 'Object defined twice in the input',
    help: 'Applying both definitions keeps only the last one; both are checked.',
  },
  [MISSING_DNS_CAPTURE]: {
    short: 'Pods in an opted-in namespace without DNS capture',
    help: 'Pods created before the namespace opted in, or while the webhook was down, lack the proxyMetadata; restart their workload.',
  },
  [UNEDITABLE_PROXY_CONFIG]: {
    short: 'Pods whose proxy.istio.io/config the webhook cannot edit',
    help: 'A restart will not add DNS capture to these pods: fix the annotation first (see the message).',
  },
};

const LEVEL = { deny: 'error', warn: 'warning' } as const;

export function sarifLog(report: Report, toolVersion: string): Log {
  const findings = report.findings.filter(
    (finding): finding is ReportFinding & { severity: 'deny' | 'warn' } => finding.severity !== 'info',
  );
  const ruleIds = [...new Set(findings.map((finding) => finding.rule))].sort();
  const rules = ruleIds.map((id): ReportingDescriptor => {
    const text = RULE_HELP[id];
    return {
      id,
      shortDescription: { text: text?.short ?? id },
      ...(text ? { fullDescription: { text: text.help }, help: { text: text.help } } : {}),
      helpUri: `${INFORMATION_URI}#rules`,
    };
  });
  const results = findings.map((finding): Result => {
    const location = finding.location;
    const inFile = location !== undefined && location.file !== STDIN_NAME;
    return {
      ruleId: finding.rule,
      ruleIndex: ruleIds.indexOf(finding.rule),
      level: LEVEL[finding.severity],
      message: { text: `${describeObject(finding.object)}: ${finding.message}` },
      locations: [
        {
          ...(inFile
            ? {
                physicalLocation: {
                  artifactLocation: { uri: fileUri(location.file) },
                  region: { startLine: location.line },
                },
              }
            : {}),
          logicalLocations: [{ fullyQualifiedName: describeObject(finding.object), kind: 'object' }],
        },
      ],
    };
  });
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'egress-guard', version: toolVersion, informationUri: INFORMATION_URI, rules } },
        results,
      },
    ],
  };
}

/** A relative path stays relative (code scanning resolves it against the checkout); an absolute one is a file: URI. */
function fileUri(file: string): string {
  if (isAbsolute(file)) return pathToFileURL(file).href;
  return file.split(/[\\/]/).map(encodeURIComponent).join('/');
}

export function formatSarif(report: Report, toolVersion: string): string {
  return `${JSON.stringify(sarifLog(report, toolVersion), null, 2)}\n`;
}
