// The output formats over one hand-made report.
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { formatJson, toJsonReport } from './format-json.js';
import { formatPolicyReports, policyReports } from './format-policyreport.js';
import { sarifLog } from './format-sarif.js';
import { formatFindingLine, formatText } from './format-text.js';
import { exitCodeFor, summarize, type ObjectRef, type Report, type ReportFinding } from './report.js';

const wildcard: ObjectRef = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'ServiceEntry',
  namespace: 'external',
  name: 'wildcard',
  uid: 'u-1',
};
const demo: ObjectRef = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'ServiceEntry',
  namespace: 'external',
  name: 'demo',
};
const web: ObjectRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
const node: ObjectRef = { apiVersion: 'v1', kind: 'Node', namespace: '', name: 'on' };

const deny: ReportFinding = {
  object: wildcard,
  location: { file: 'se.yaml', line: 9 },
  rule: 'wildcard-dns',
  severity: 'deny',
  message:
    'spec.hosts[0] "*.example.com": a wildcard host cannot use resolution DNS without endpoints; use resolution DYNAMIC_DNS or NONE',
  path: 'spec.hosts[0]',
};
const warn: ReportFinding = {
  object: web,
  rule: 'missing-dns-capture',
  severity: 'warn',
  message: '3 pods without DNS capture (restart: kubectl rollout restart deployment/web -n shop)',
};
const info: ReportFinding = {
  object: web,
  location: { file: 'w.yaml', line: 3 },
  rule: 'dns-capture',
  severity: 'info',
  message: 'would add proxyMetadata X',
  path: 'spec.template',
};
const skipped: ReportFinding = { ...info, message: 'skipped: ...', notApplicable: true };
const clusterScoped: ReportFinding = {
  object: node,
  rule: 'example',
  severity: 'warn',
  message: 'about a cluster-scoped object',
};

const report: Report = { objectsChecked: 7, findings: [deny, warn, info], passed: [demo] };

describe('report', () => {
  it('summarizes by severity and exits 1 only for deny', () => {
    expect(summarize(report)).toEqual({ objects: 7, deny: 1, warn: 1, info: 1 });
    expect(exitCodeFor(report)).toBe(1);
    expect(exitCodeFor({ ...report, findings: [warn, info] })).toBe(0);
    expect(exitCodeFor({ objectsChecked: 0, findings: [], passed: [] })).toBe(0);
  });

  it('with failOn warn, exits 1 for warnings too, never for info', () => {
    expect(exitCodeFor({ ...report, findings: [warn, info] }, 'warn')).toBe(1);
    expect(exitCodeFor({ ...report, findings: [info] }, 'warn')).toBe(0);
    expect(exitCodeFor(report, 'warn')).toBe(1);
  });
});

describe('formatText', () => {
  it.each([
    [
      deny,
      'se.yaml:9: ServiceEntry external/wildcard: [wildcard-dns] deny: spec.hosts[0] "*.example.com": a wildcard host cannot use resolution DNS without endpoints; use resolution DYNAMIC_DNS or NONE',
    ],
    [
      warn,
      'Deployment shop/web: [missing-dns-capture] warn: 3 pods without DNS capture (restart: kubectl rollout restart deployment/web -n shop)',
    ],
    [clusterScoped, 'Node on: [example] warn: about a cluster-scoped object'],
    [{ ...warn, message: 'host "a\nb\tc"' }, 'Deployment shop/web: [missing-dns-capture] warn: host "a\\nb\\tc"'],
  ])('formats a finding as one line', (finding, line) => {
    expect(formatFindingLine(finding)).toBe(line);
  });

  it('ends with the summary line', () => {
    expect(formatText(report).split('\n').slice(-2)).toEqual(['7 objects checked: 1 deny, 1 warn, 1 info', '']);
    expect(formatText({ objectsChecked: 1, findings: [], passed: [] })).toBe(
      '1 object checked: 0 deny, 0 warn, 0 info\n',
    );
  });
});

describe('formatJson', () => {
  it('writes every key, null where it does not apply', () => {
    expect(toJsonReport(report)).toEqual({
      findings: [
        {
          file: 'se.yaml',
          line: 9,
          kind: 'ServiceEntry',
          namespace: 'external',
          name: 'wildcard',
          rule: 'wildcard-dns',
          severity: 'deny',
          message: deny.message,
          path: 'spec.hosts[0]',
        },
        {
          file: null,
          line: null,
          kind: 'Deployment',
          namespace: 'shop',
          name: 'web',
          rule: 'missing-dns-capture',
          severity: 'warn',
          message: warn.message,
          path: null,
        },
        {
          file: 'w.yaml',
          line: 3,
          kind: 'Deployment',
          namespace: 'shop',
          name: 'web',
          rule: 'dns-capture',
          severity: 'info',
          message: info.message,
          path: 'spec.template',
        },
      ],
      summary: { objects: 7, deny: 1, warn: 1, info: 1 },
    });
    expect(JSON.parse(formatJson(report))).toEqual(toJsonReport(report));
  });
});

describe('policyReports', () => {
  const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

  it('makes one PolicyReport per namespace and a ClusterPolicyReport for cluster-scoped objects, last', () => {
    const reports = policyReports({ ...report, findings: [clusterScoped, ...report.findings, skipped] }, NOW);
    expect(reports.map(({ kind, metadata }) => `${kind} ${metadata.namespace ?? ''}/${metadata.name}`)).toEqual([
      'PolicyReport external/egress-guard',
      'PolicyReport shop/egress-guard',
      'ClusterPolicyReport /egress-guard',
    ]);
    expect(reports.map(({ summary }) => summary)).toEqual([
      { pass: 1, fail: 1, warn: 0, error: 0, skip: 0 },
      { pass: 1, fail: 0, warn: 1, error: 0, skip: 1 },
      { pass: 0, fail: 0, warn: 1, error: 0, skip: 0 },
    ]);
  });

  it('maps each finding to a result: deny fail, warn warn, info pass or skip', () => {
    const [external, shop] = policyReports({ ...report, findings: [...report.findings, skipped] }, NOW);
    expect(external?.results).toEqual([
      {
        policy: 'egress-guard',
        rule: 'wildcard-dns',
        result: 'fail',
        message: deny.message,
        severity: 'high',
        category: 'egress',
        source: 'egress-guard',
        scored: true,
        resources: [
          {
            apiVersion: 'networking.istio.io/v1',
            kind: 'ServiceEntry',
            namespace: 'external',
            name: 'wildcard',
            uid: 'u-1',
          },
        ],
        properties: { path: 'spec.hosts[0]', file: 'se.yaml', line: '9' },
        timestamp: { seconds: Math.floor(NOW / 1000), nanos: 678_000_000 },
      },
      {
        policy: 'egress-guard',
        rule: 'service-entry-rules',
        result: 'pass',
        message: 'ServiceEntry passes every egress-guard rule',
        category: 'egress',
        source: 'egress-guard',
        scored: true,
        resources: [
          { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', namespace: 'external', name: 'demo' },
        ],
        timestamp: { seconds: Math.floor(NOW / 1000), nanos: 678_000_000 },
      },
    ]);
    expect(shop?.results.map(({ result, severity, scored }) => [result, severity, scored])).toEqual([
      ['warn', 'medium', false],
      ['pass', 'info', true],
      ['skip', 'info', false],
    ]);
  });

  it('emits a YAML stream kubectl reads back: no anchors, names like `on` stay strings', () => {
    const text = formatPolicyReports({ ...report, findings: [clusterScoped, ...report.findings] }, NOW);
    expect(text).not.toMatch(/[&*]a\d/);
    const documents = parseAllDocuments(text, { version: '1.1' }).map(
      (document) => document.toJS() as { kind: string; results: { resources: { name: unknown }[] }[] },
    );
    expect(documents.map(({ kind }) => kind)).toEqual(['PolicyReport', 'PolicyReport', 'ClusterPolicyReport']);
    expect(documents[2]?.results[0]?.resources[0]?.name).toBe('on');
  });

  it('emits nothing when there is nothing to report', () => {
    expect(formatPolicyReports({ objectsChecked: 3, findings: [], passed: [] }, NOW)).toBe('');
  });
});

describe('sarifLog', () => {
  it('maps deny to error and warn to warning, leaves info out, and lists each rule once', () => {
    const log = sarifLog({ ...report, findings: [deny, warn, info, { ...deny, object: demo }] }, '1.2.3');
    const run = log.runs[0];
    expect(run?.tool.driver).toMatchObject({ name: 'egress-guard', version: '1.2.3' });
    expect(run?.tool.driver.rules?.map((rule) => rule.id)).toEqual(['missing-dns-capture', 'wildcard-dns']);
    expect(run?.results?.map((result) => [result.ruleId, result.ruleIndex, result.level])).toEqual([
      ['wildcard-dns', 1, 'error'],
      ['missing-dns-capture', 0, 'warning'],
      ['wildcard-dns', 1, 'error'],
    ]);
  });

  it('places check findings at file and line; audit and stdin findings only by object', () => {
    const [inFile, fromAudit, fromStdin, absolute] =
      sarifLog(
        {
          ...report,
          findings: [
            { ...deny, location: { file: 'dir/my file.yaml', line: 9 } },
            warn,
            { ...deny, location: { file: '<stdin>', line: 4 } },
            { ...deny, location: { file: '/tmp/a.yaml', line: 2 } },
          ],
        },
        '0',
      ).runs[0]?.results ?? [];
    expect(inFile?.locations?.[0]).toEqual({
      physicalLocation: { artifactLocation: { uri: 'dir/my%20file.yaml' }, region: { startLine: 9 } },
      logicalLocations: [{ fullyQualifiedName: 'ServiceEntry external/wildcard', kind: 'object' }],
    });
    expect(fromAudit?.locations?.[0]).toEqual({
      logicalLocations: [{ fullyQualifiedName: 'Deployment shop/web', kind: 'object' }],
    });
    expect(fromStdin?.locations?.[0]?.physicalLocation).toBeUndefined();
    expect(absolute?.locations?.[0]?.physicalLocation?.artifactLocation?.uri).toBe('file:///tmp/a.yaml');
  });
});
