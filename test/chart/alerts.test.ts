// The chart's PrometheusRule with real promtool: `promtool check rules` on every rendering of the values matrix,
// `promtool test rules` (alerts.promtool.yaml) on the default one, and a runbook section for every alert.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CHART, OPERATOR_APIS, ensureTools, find, parseObjects, run, template, type RenderOptions } from './tools.js';

interface RuleGroups {
  groups: {
    name: string;
    rules: { alert?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[];
  }[];
}

/** The PrometheusRule's spec as a Prometheus rule file. */
async function ruleFile(options: RenderOptions = {}): Promise<{ path: string; spec: RuleGroups }> {
  const objects = parseObjects(await template({ ...options, apiVersions: OPERATOR_APIS }));
  const spec = (find(objects, 'PrometheusRule') as unknown as { spec: RuleGroups }).spec;
  const dir = mkdtempSync(join(tmpdir(), 'egress-guard-rules-'));
  const path = join(dir, 'rules.yaml');
  writeFileSync(path, stringify(spec));
  return { path, spec };
}

const alertNames = (spec: RuleGroups) => [...new Set(spec.groups.flatMap((g) => g.rules.map((r) => r.alert ?? '')))];

beforeAll(async () => {
  await ensureTools();
}, 90 * 60_000);

describe('promtool check rules', () => {
  it.each([{ file: 'defaults' }, { file: 'everything.yaml' }])(
    'accepts the rules rendered from $file',
    async ({ file }) => {
      const { promtool } = await ensureTools();
      const { path, spec } = await ruleFile(file === 'defaults' ? {} : { valuesFiles: [file] });
      const result = await run(promtool, ['check', 'rules', path]);
      const count = spec.groups.reduce((n, g) => n + g.rules.length, 0);
      expect({ code: result.code, out: result.stdout.trim(), err: result.stderr }).toEqual({
        code: 0,
        out: `Checking ${path}\n  SUCCESS: ${count} rules found`,
        err: '',
      });
    },
  );

  it('sees the values in the rendered expressions', async () => {
    const { spec } = await ruleFile({ valuesFiles: ['everything.yaml'] });
    const exprs = spec.groups.flatMap((g) => g.rules.map((r) => r.expr)).join('\n');
    expect(exprs).toContain('error_type!="no_error"');
    expect(exprs).toContain(',job="apiserver"');
    expect(exprs).toContain('> 0.5');
    expect(exprs).toContain(`< ${30 * 86400}`);
    expect(exprs).toContain('offset 6h');
    expect(spec.groups.flatMap((g) => g.rules.map((r) => r.labels?.team))).not.toContain(undefined);
  });
});

describe('promtool test rules', () => {
  it('alerts.promtool.yaml passes against the default rules', async () => {
    const { promtool } = await ensureTools();
    const { path } = await ruleFile();
    const tests = join(path, '..', 'alerts.promtool.yaml');
    copyFileSync(join(import.meta.dirname, 'alerts.promtool.yaml'), tests);
    const result = await run(promtool, ['test', 'rules', tests]);
    expect({ code: result.code, out: result.stdout + result.stderr }).toEqual({
      code: 0,
      out: expect.stringContaining('SUCCESS'),
    });
  });

  it('every alert fires in at least one case and stays quiet in another', async () => {
    const { spec } = await ruleFile();
    const suite = parse(readFileSync(join(import.meta.dirname, 'alerts.promtool.yaml'), 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = suite.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alertNames(spec)) {
      expect({ alert, fires: cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0) }).toEqual({
        alert,
        fires: true,
      });
      expect({ alert, quiet: cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0) }).toEqual({
        alert,
        quiet: true,
      });
    }
  });
});

describe('runbooks', () => {
  it("every alert has a runbook section in the chart's README, where its runbook_url points", async () => {
    const { spec } = await ruleFile();
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const headings = [...readme.matchAll(/^### (\S+)$/gm)].map((m) => m[1]);
    for (const rule of spec.groups.flatMap((g) => g.rules)) {
      expect(headings).toContain(rule.alert);
      // GitHub's anchor for "### EgressGuardX" is "#egressguardx".
      expect(rule.annotations?.runbook_url).toMatch(new RegExp(`README\\.md#${(rule.alert ?? '').toLowerCase()}$`));
    }
  });
});
