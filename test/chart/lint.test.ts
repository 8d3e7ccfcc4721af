// `helm lint --strict` over the values matrix, and the values the chart must refuse (values.schema.json and the
// templates' own checks): a bad value fails before anything reaches the cluster, with a message naming it.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CHART, VALUES, ensureTools, helm, templateArgs } from './tools.js';

const matrix = readdirSync(VALUES).filter((file) => file.endsWith('.yaml'));

beforeAll(async () => {
  await ensureTools();
}, 90 * 60_000);

describe('helm lint --strict', () => {
  it('passes with the default values', async () => {
    const result = await helm(['lint', '--strict', CHART]);
    expect({ code: result.code, out: result.stdout }).toEqual({
      code: 0,
      out: expect.stringContaining('0 chart(s) failed'),
    });
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it.each(matrix)('passes with values/%s', async (file) => {
    const result = await helm(['lint', '--strict', CHART, '--values', join(VALUES, file)]);
    expect({ code: result.code, out: result.stdout }).toEqual({
      code: 0,
      out: expect.stringContaining('0 chart(s) failed'),
    });
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });
});

describe('values the chart refuses', () => {
  const at = (path: string, problem: string) => new RegExp(`at '${path}': ${problem}`);
  const refused: { set: string; message: RegExp }[] = [
    { set: 'certificates.source=letsencrypt', message: at('/certificates/source', 'value must be one of') },
    { set: 'config.logLevel=verbose', message: at('/config/logLevel', 'value must be one of') },
    { set: 'config.autoAllocateMode=both', message: at('/config/autoAllocateMode', 'value must be one of') },
    { set: 'config.undeclaredPortsAction=block', message: at('/config/undeclaredPortsAction', 'value must be one of') },
    { set: 'config.expectedPorts={80,70000}', message: at('/config/expectedPorts/1', 'maximum: got 70,000') },
    { set: 'config.port=0', message: at('/config/port', 'minimum: got 0') },
    { set: 'config.shutdownDelaySeconds=301', message: at('/config/shutdownDelaySeconds', 'maximum: got 301') },
    { set: 'replica=3', message: at('', "additional properties 'replica' not allowed") },
    { set: 'image.digest=sha256:xyz', message: at('/image/digest', "'sha256:xyz' does not match pattern") },
    {
      set: 'monitoring.serviceMonitor.enabled=maybe',
      message: at('/monitoring/serviceMonitor/enabled', 'value must be one of'),
    },
    {
      set: 'monitoring.prometheusRule.apiServerSelector=job=apiserver',
      message: at('/monitoring/prometheusRule/apiServerSelector', "'job=apiserver' does not match pattern"),
    },
    {
      set: 'certificates.certManager.duration=90days',
      message: at('/certificates/certManager/duration', "'90days' does not match"),
    },
    // Istio's injector would run first and never see our annotation.
    {
      set: 'webhooks.configurationName=mesh-guard',
      message: /webhooks\.configurationName "mesh-guard" sorts after "istio-"/,
    },
    {
      set: 'webhooks.configurationName=istio-guard',
      message: /webhooks\.configurationName "istio-guard" sorts after "istio-"/,
    },
  ];
  it.each(refused)('refuses --set $set', async ({ set, message }) => {
    const result = await helm(['template', ...templateArgs({ set: [set] })]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('accepts a configuration name that sorts before "istio-"', async () => {
    const result = await helm(['template', ...templateArgs({ set: ['webhooks.configurationName=guard'] })]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/kind: MutatingWebhookConfiguration\nmetadata:\n {2}name: guard\n/);
  });
});
