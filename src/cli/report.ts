// What `egress-guard check` and `egress-guard audit` found, independent of the output format. Pure.
import type { Severity } from '../rules/types.js';

/** The rules' severities plus 'info': things worth showing that never fail a run (mutation previews). */
export type ReportSeverity = Severity | 'info';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  uid?: string;
}

export interface SourceLocation {
  file: string;
  line: number;
}

export interface ReportFinding {
  object: ObjectRef;
  /** Where in the input files (check only). */
  location?: SourceLocation;
  rule: string;
  severity: ReportSeverity;
  message: string;
  /** Field path inside the object, e.g. `spec.hosts[1]`. */
  path?: string;
  /** For PolicyReports: an info finding is a `pass` unless the policy does not apply to the object (`skip`). */
  notApplicable?: boolean;
}

export interface Report {
  /** Every object the command looked at. */
  objectsChecked: number;
  /** In output order. */
  findings: ReportFinding[];
  /** Objects the rules judged that have no finding: `pass` results in a PolicyReport. */
  passed: ObjectRef[];
}

export interface Summary {
  objects: number;
  deny: number;
  warn: number;
  info: number;
}

export function summarize(report: Report): Summary {
  const count = (severity: ReportSeverity) => report.findings.filter((finding) => finding.severity === severity).length;
  return { objects: report.objectsChecked, deny: count('deny'), warn: count('warn'), info: count('info') };
}

export const EXIT_OK = 0;
/**
 * Something is deny-level (admission would reject it, or it is in the cluster anyway), or warn-level when the
 * run asked to fail on warnings.
 */
export const EXIT_DENY = 1;
/** Usage, read, parse or API errors: nothing was (fully) evaluated. */
export const EXIT_ERROR = 2;

/** `failOn` is the least severity that fails the run; info findings never do. */
export function exitCodeFor(report: Report, failOn: Severity = 'deny'): number {
  const failing = (severity: ReportSeverity) => severity === 'deny' || (failOn === 'warn' && severity === 'warn');
  return report.findings.some((finding) => failing(finding.severity)) ? EXIT_DENY : EXIT_OK;
}

/** `Kind namespace/name`, or `Kind name` for cluster-scoped objects, as kubectl users read them. */
export function describeObject({ kind, namespace, name }: ObjectRef): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}
