// `-o policyreport`: wgpolicyk8s.io/v1alpha2 PolicyReports, one per namespace (a ClusterPolicyReport for
// cluster-scoped objects), as a YAML stream. Kyverno writes the same kind, so Policy Reporter and the other UIs
// people use for Kyverno's reports show egress-guard's next to them. Pure: the caller passes the clock reading.
import { stringify } from 'yaml';
import type { ObjectRef, Report, ReportFinding } from './report.js';

export const POLICY_REPORT_API_VERSION = 'wgpolicyk8s.io/v1alpha2';
export const POLICY_NAME = 'egress-guard';
export const REPORT_NAME = 'egress-guard';
const SOURCE = 'egress-guard';
const CATEGORY = 'egress';

/** The CRD's enums (kubernetes-sigs/wg-policy-prototypes, policy-report/apis/wgpolicyk8s.io/v1alpha2). */
export type PolicyResult = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
export type PolicyResultSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface PolicyReportResult {
  policy: string;
  rule: string;
  result: PolicyResult;
  message: string;
  severity?: PolicyResultSeverity;
  category: string;
  source: string;
  /** Whether the result counts: `warn` is, by the CRD's definition, "not met and not scored". */
  scored: boolean;
  resources: ObjectReference[];
  properties?: Record<string, string>;
  timestamp: { seconds: number; nanos: number };
}

/** corev1.ObjectReference, reduced to what identifies the object. */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export interface PolicyReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

export interface PolicyReportObject {
  apiVersion: typeof POLICY_REPORT_API_VERSION;
  kind: 'PolicyReport' | 'ClusterPolicyReport';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  summary: PolicyReportSummary;
  results: PolicyReportResult[];
}

/** deny -> fail, warn -> warn, info -> pass (or skip where the webhook leaves the object alone). */
function resultOf(finding: ReportFinding): PolicyResult {
  if (finding.severity === 'deny') return 'fail';
  if (finding.severity === 'warn') return 'warn';
  return finding.notApplicable ? 'skip' : 'pass';
}

const SEVERITY: Readonly<Record<ReportFinding['severity'], PolicyResultSeverity>> = {
  deny: 'high',
  warn: 'medium',
  info: 'info',
};

/** The rule a clean object passed: all of those for its kind. */
function passRule(kind: string): string {
  return `${kind.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}-rules`;
}

function reference({ apiVersion, kind, namespace, name, uid }: ObjectRef): ObjectReference {
  return { apiVersion, kind, ...(namespace ? { namespace } : {}), name, ...(uid ? { uid } : {}) };
}

/** `nowMs`: milliseconds since the epoch, stamped on every result. */
export function policyReports(report: Report, nowMs: number): PolicyReportObject[] {
  const timestamp = { seconds: Math.floor(nowMs / 1000), nanos: Math.round(nowMs % 1000) * 1_000_000 };
  const byNamespace = new Map<string, PolicyReportResult[]>();
  const add = (namespace: string, result: PolicyReportResult) => {
    const results = byNamespace.get(namespace) ?? [];
    results.push(result);
    byNamespace.set(namespace, results);
  };
  for (const finding of report.findings) {
    const result = resultOf(finding);
    const properties: Record<string, string> = {};
    if (finding.path !== undefined) properties.path = finding.path;
    if (finding.location) {
      properties.file = finding.location.file;
      properties.line = String(finding.location.line);
    }
    add(finding.object.namespace, {
      policy: POLICY_NAME,
      rule: finding.rule,
      result,
      message: finding.message,
      severity: SEVERITY[finding.severity],
      category: CATEGORY,
      source: SOURCE,
      scored: result === 'fail' || result === 'pass',
      resources: [reference(finding.object)],
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
      timestamp,
    });
  }
  for (const object of report.passed) {
    add(object.namespace, {
      policy: POLICY_NAME,
      rule: passRule(object.kind),
      result: 'pass',
      message: `${object.kind} passes every egress-guard rule`,
      category: CATEGORY,
      source: SOURCE,
      scored: true,
      resources: [reference(object)],
      timestamp,
    });
  }

  const namespaces = [...byNamespace.keys()].sort((a, b) =>
    a === '' ? 1 : b === '' ? -1 : a < b ? -1 : a > b ? 1 : 0,
  );
  return namespaces.map((namespace) => {
    const results = byNamespace.get(namespace) ?? [];
    const summary: PolicyReportSummary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const { result } of results) summary[result]++;
    return {
      apiVersion: POLICY_REPORT_API_VERSION,
      kind: namespace === '' ? 'ClusterPolicyReport' : 'PolicyReport',
      metadata: {
        name: REPORT_NAME,
        ...(namespace ? { namespace } : {}),
        labels: { 'app.kubernetes.io/managed-by': 'egress-guard' },
      },
      summary,
      results,
    };
  });
}

/** A YAML stream, documents separated by `---`; empty when there is nothing to report. */
export function formatPolicyReports(report: Report, nowMs: number): string {
  // YAML 1.1 quoting (kubectl reads 1.1): a name like `on` or `yes` stays a string. No line folding, and no
  // anchors for the timestamp every result shares: some readers of these reports do not resolve aliases.
  return policyReports(report, nowMs)
    .map((object) => stringify(object, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false }))
    .join('---\n');
}
