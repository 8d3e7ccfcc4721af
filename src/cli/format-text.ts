// The human-readable report, one line per finding like a compiler or kubectl:
//   FILE:LINE: Kind namespace/name: [rule] severity: message
// followed by a summary line. Pure.
import { describeObject, summarize, type Report, type ReportFinding } from './report.js';

/** One finding, one line: control characters from the input (a host with a newline) are escaped, not printed. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => JSON.stringify(char).slice(1, -1));
}

export function formatFindingLine(finding: ReportFinding): string {
  const where = finding.location ? `${finding.location.file}:${finding.location.line}: ` : '';
  return oneLine(
    `${where}${describeObject(finding.object)}: [${finding.rule}] ${finding.severity}: ${finding.message}`,
  );
}

export function formatSummaryLine(report: Report): string {
  const { objects, deny, warn, info } = summarize(report);
  return `${objects} ${objects === 1 ? 'object' : 'objects'} checked: ${deny} deny, ${warn} warn, ${info} info`;
}

export function formatText(report: Report): string {
  return [...report.findings.map(formatFindingLine), formatSummaryLine(report)].join('\n') + '\n';
}
