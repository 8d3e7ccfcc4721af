// `-o json`: a stable schema for scripts. Every finding has every key; what does not apply is null
// (audit findings have no file or line). Pure.
import { summarize, type Report, type ReportSeverity, type Summary } from './report.js';

export interface JsonFinding {
  file: string | null;
  line: number | null;
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  rule: string;
  severity: ReportSeverity;
  message: string;
  path: string | null;
}

export interface JsonReport {
  findings: JsonFinding[];
  summary: Summary;
}

export function toJsonReport(report: Report): JsonReport {
  return {
    findings: report.findings.map((finding) => ({
      file: finding.location?.file ?? null,
      line: finding.location?.line ?? null,
      kind: finding.object.kind,
      namespace: finding.object.namespace,
      name: finding.object.name,
      rule: finding.rule,
      severity: finding.severity,
      message: finding.message,
      path: finding.path ?? null,
    })),
    summary: summarize(report),
  };
}

export function formatJson(report: Report): string {
  return `${JSON.stringify(toJsonReport(report), null, 2)}\n`;
}
