// `egress-guard audit` against a real kube-apiserver with Istio's CRDs. Nothing reconciles in this cluster (no
// controller-manager), so the Deployment -> ReplicaSet -> Pod chain is written by hand, ownerReferences and all:
// exactly what audit reads to group pods by the workload to restart.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ensureBuilt, runCli, type CliResult } from '../cli/run-cli.js';
import type { JsonFinding, JsonReport } from '../../src/cli/format-json.js';
import { installIstioCrds, startCluster, type Cluster } from './cluster.js';

const DNS_CAPTURE_CONFIG = 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n';
/** Pods in the bulk namespace: more than two pages of 500. */
const BULK_PODS = 1100;

function serviceEntry(namespace: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { namespace, name }, spec };
}

function pod(
  namespace: string,
  name: string,
  {
    owner,
    labels,
    annotations,
  }: { owner?: Record<string, unknown>; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace,
      name,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
      ...(owner ? { ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  };
}

function list(items: unknown[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

describe('egress-guard audit against a live API server', () => {
  let cluster: Cluster;
  let kubeconfig: string;
  let scratch: string;
  let audit: CliResult;
  let report: JsonReport;

  async function create(manifest: string): Promise<void> {
    await cluster.kubectl(['create', '-f', '-'], { stdin: manifest, timeoutMs: 180_000 });
  }

  async function uidOf(resource: string, namespace: string): Promise<string> {
    const { stdout } = await cluster.kubectl(['get', resource, '-n', namespace, '-o', 'jsonpath={.metadata.uid}']);
    return stdout.trim();
  }

  function ownerRef(apiVersion: string, kind: string, name: string, uid: string) {
    return { apiVersion, kind, name, uid };
  }

  beforeAll(async () => {
    ensureBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'egress-guard-audit-'));
    cluster = await startCluster();
    kubeconfig = cluster.kubeconfigPath;
    await installIstioCrds(cluster);

    const optIn = { 'egress-guard.io/dns-capture': 'enabled' };
    await create(
      list([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: optIn } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bulk', labels: optIn } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'egress-guard', labels: optIn } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'external' } },
      ]),
    );
    // kube-system exists already; labelled, it is still never mutated.
    await cluster.kubectl(['label', 'namespace', 'kube-system', 'egress-guard.io/dns-capture=enabled']);

    // ServiceEntries as they might be after the webhook was down: one denied, two duplicates, one clean pair.
    await create(
      list([
        serviceEntry('external', 'wildcard', {
          hosts: ['*.oss-cn-shanghai.aliyuncs.com'],
          location: 'MESH_EXTERNAL',
          ports: [
            { name: 'http', number: 80, protocol: 'HTTP' },
            { name: 'https', number: 443, protocol: 'TLS' },
          ],
          resolution: 'DNS',
        }),
        serviceEntry('external', 'demo', {
          hosts: ['oss-cn-shanghai.aliyuncs.com'],
          location: 'MESH_EXTERNAL',
          ports: [
            { name: 'http', number: 80, protocol: 'HTTP', targetPort: 443 },
            { name: 'https', number: 443, protocol: 'TLS' },
          ],
          resolution: 'DNS',
        }),
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { namespace: 'external', name: 'com.aliyuncs.oss-cn-shanghai' },
          spec: {
            host: 'oss-cn-shanghai.aliyuncs.com',
            trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] },
          },
        },
        serviceEntry('default', 'external-auto', {
          hosts: ['example.com'],
          ports: [{ name: 'tcp', number: 9444, protocol: 'TCP' }],
          resolution: 'DNS',
        }),
        serviceEntry('default', 'example-web', {
          hosts: ['example.com'],
          ports: [
            { name: 'http', number: 80, protocol: 'HTTP' },
            { name: 'https', number: 443, protocol: 'TLS' },
          ],
          resolution: 'DNS',
        }),
        // http-to-tls-port: plain HTTP forwarded to 443, no DestinationRule for it.
        serviceEntry('plain', 'storage', {
          hosts: ['storage.example.net'],
          ports: [
            { name: 'http', number: 80, protocol: 'HTTP', targetPort: 443 },
            { name: 'https', number: 443, protocol: 'TLS' },
          ],
          resolution: 'DNS',
        }),
      ]),
    );

    // shop: Deployment web -> ReplicaSet web-6d4b9 -> three pods, one created while the webhook was up.
    await create(
      list([
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { namespace: 'shop', name: 'web' },
          spec: {
            replicas: 3,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
            },
          },
        },
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { namespace: 'shop', name: 'report' },
          spec: {
            schedule: '0 * * * *',
            jobTemplate: {
              spec: {
                template: {
                  spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'registry.example/app:1' }] },
                },
              },
            },
          },
        },
      ]),
    );
    const deployment = ownerRef('apps/v1', 'Deployment', 'web', await uidOf('deployment/web', 'shop'));
    const cronJob = ownerRef('batch/v1', 'CronJob', 'report', await uidOf('cronjob/report', 'shop'));
    await create(
      list([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            namespace: 'shop',
            name: 'web-6d4b9',
            labels: { app: 'web' },
            ownerReferences: [{ ...deployment, controller: true }],
          },
          spec: {
            replicas: 3,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
            },
          },
        },
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { namespace: 'shop', name: 'report-29000000', ownerReferences: [{ ...cronJob, controller: true }] },
          spec: {
            template: {
              spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'registry.example/app:1' }] },
            },
          },
        },
      ]),
    );
    const replicaSet = ownerRef('apps/v1', 'ReplicaSet', 'web-6d4b9', await uidOf('replicaset/web-6d4b9', 'shop'));
    const job = ownerRef('batch/v1', 'Job', 'report-29000000', await uidOf('job/report-29000000', 'shop'));
    await create(
      list([
        pod('shop', 'web-6d4b9-aaaaa', { owner: replicaSet }),
        pod('shop', 'web-6d4b9-bbbbb', { owner: replicaSet }),
        pod('shop', 'web-6d4b9-ccccc', {
          owner: replicaSet,
          annotations: { 'proxy.istio.io/config': DNS_CAPTURE_CONFIG },
        }),
        pod('shop', 'report-29000000-xxxxx', { owner: job }),
        pod('shop', 'debug'),
        pod('shop', 'opted-out', { labels: { 'egress-guard.io/dns-capture': 'disabled' } }),
        pod('shop', 'no-sidecar', { annotations: { 'sidecar.istio.io/inject': 'false' } }),
        pod('shop', 'broken-config', { annotations: { 'proxy.istio.io/config': 'proxyMetadata: [1, 2]' } }),
        // Never mutated, whatever their labels: kube-system and egress-guard's own namespace.
        pod('kube-system', 'system-pod'),
        pod('egress-guard', 'egress-guard-0'),
        // Not opted in.
        pod('plain', 'elsewhere'),
      ]),
    );

    // bulk: enough pods for three pages, under one ReplicaSet without a Deployment.
    await create(
      list([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: { namespace: 'bulk', name: 'workers' },
          spec: {
            replicas: BULK_PODS,
            selector: { matchLabels: { app: 'workers' } },
            template: {
              metadata: { labels: { app: 'workers' } },
              spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
            },
          },
        },
      ]),
    );
    const workers = ownerRef('apps/v1', 'ReplicaSet', 'workers', await uidOf('replicaset/workers', 'bulk'));
    await create(
      list(
        Array.from({ length: BULK_PODS }, (_, index) =>
          pod('bulk', `workers-${String(index).padStart(4, '0')}`, { owner: workers }),
        ),
      ),
    );

    audit = await runCli(['audit', '--kubeconfig', kubeconfig, '-o', 'json', '--progress'], { timeoutMs: 120_000 });
    report = JSON.parse(audit.stdout) as JsonReport;
  }, 10 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const about = (kind: string, namespace: string, name: string) =>
    report.findings.filter(
      (finding) => finding.kind === kind && finding.namespace === namespace && finding.name === name,
    );

  it('exits 1 because a ServiceEntry in the cluster is deny-level', () => {
    expect(audit.stderr).not.toMatch(/error/i);
    expect(audit.code).toBe(1);
  });

  it('reports every ServiceEntry finding with the admission rules over the whole cluster', () => {
    const serviceEntryFindings = report.findings.filter((finding) => finding.kind === 'ServiceEntry');
    expect(
      serviceEntryFindings.map(({ namespace, name, rule, severity, path }) => ({
        namespace,
        name,
        rule,
        severity,
        path,
      })),
    ).toEqual([
      { namespace: 'default', name: 'example-web', rule: 'duplicate-host', severity: 'warn', path: 'spec.hosts[0]' },
      { namespace: 'default', name: 'external-auto', rule: 'duplicate-host', severity: 'warn', path: 'spec.hosts[0]' },
      { namespace: 'external', name: 'wildcard', rule: 'wildcard-dns', severity: 'deny', path: 'spec.hosts[0]' },
      { namespace: 'plain', name: 'storage', rule: 'http-to-tls-port', severity: 'warn', path: 'spec.ports[0]' },
    ]);
    // The DestinationRule in the cluster originates TLS for external/demo: clean.
    expect(about('ServiceEntry', 'external', 'demo')).toEqual([]);
    expect(serviceEntryFindings.every((finding) => finding.file === null && finding.line === null)).toBe(true);
  });

  it('groups pods without DNS capture by the Deployment behind their ReplicaSet, with the restart command', () => {
    expect(about('Deployment', 'shop', 'web')).toEqual([
      {
        file: null,
        line: null,
        kind: 'Deployment',
        namespace: 'shop',
        name: 'web',
        rule: 'missing-dns-capture',
        severity: 'warn',
        message: '2 pods without DNS capture (restart: kubectl rollout restart deployment/web -n shop)',
        path: null,
      },
    ]);
    expect(about('ReplicaSet', 'shop', 'web-6d4b9')).toEqual([]);
  });

  it('groups Job pods by their CronJob, bare pods by themselves, and reports annotations a restart cannot fix', () => {
    expect(about('CronJob', 'shop', 'report').map((finding) => finding.message)).toEqual([
      '1 pod without DNS capture (its next Jobs get it; running Jobs finish without it)',
    ]);
    expect(about('Pod', 'shop', 'debug').map((finding) => finding.message)).toEqual([
      '1 pod without DNS capture (re-create the pod: kubectl delete pod debug -n shop, then create it again)',
    ]);
    expect(about('Pod', 'shop', 'broken-config')).toEqual([
      expect.objectContaining({
        rule: 'uneditable-proxy-config',
        severity: 'warn',
        message: expect.stringContaining('a restart will not fix'),
      }),
    ]);
  });

  it('leaves alone opted-out, sidecar-less and already-configured pods, and namespaces the webhook never serves', () => {
    const podNames = report.findings.map((finding) => `${finding.kind} ${finding.namespace}/${finding.name}`);
    expect(podNames).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/opted-out|no-sidecar|system-pod|egress-guard-0|elsewhere/)]),
    );
    expect(
      report.findings.some(
        (finding) =>
          ['kube-system', 'egress-guard', 'plain'].includes(finding.namespace) && finding.kind !== 'ServiceEntry',
      ),
    ).toBe(false);
  });

  it('lists pods page by page (limit 500) and reports progress with --progress', () => {
    expect(about('ReplicaSet', 'bulk', 'workers').map((finding) => finding.message)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${BULK_PODS} pods without DNS capture \\(delete the pods for the ReplicaSet to re-create them: kubectl delete pod -n bulk workers-0000 `,
        ),
      ),
    ]);
    expect(audit.stderr).toContain('listed 500 pods in bulk...');
    expect(audit.stderr).toContain('listed 1000 pods in bulk...');
    expect(audit.stderr).toContain(`listed ${BULK_PODS} pods in bulk`);
    // ServiceEntries (5) + DestinationRules (1) + pods of shop (8) and bulk.
    expect(report.summary).toEqual({ objects: 5 + 1 + 8 + BULK_PODS, deny: 1, warn: 3 + 5, info: 0 });
  });

  it('prints one line per finding in text form, and PolicyReports that parse as YAML', async () => {
    const text = await runCli(['audit', '--kubeconfig', kubeconfig]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      'Deployment shop/web: [missing-dns-capture] warn: 2 pods without DNS capture (restart: kubectl rollout restart deployment/web -n shop)\n',
    );
    expect(text.stdout).toContain(
      'ServiceEntry external/wildcard: [wildcard-dns] deny: spec.hosts[0] "*.oss-cn-shanghai.aliyuncs.com"',
    );
    expect(text.stdout.trimEnd().split('\n').pop()).toBe(
      `${5 + 1 + 8 + BULK_PODS} objects checked: 1 deny, 8 warn, 0 info`,
    );
    // stderr is not a terminal here and --progress was not given: no progress lines.
    expect(text.stderr).toBe('');

    const policy = await runCli(['audit', '--kubeconfig', kubeconfig, '-o', 'policyreport']);
    expect(policy.code).toBe(1);
    const documents = parseAllDocuments(policy.stdout).map(
      (document) =>
        document.toJS() as { kind: string; metadata: { namespace?: string }; summary: Record<string, number> },
    );
    expect(documents.map((document) => `${document.kind} ${document.metadata.namespace}`)).toEqual([
      'PolicyReport bulk',
      'PolicyReport default',
      'PolicyReport external',
      'PolicyReport plain',
      'PolicyReport shop',
    ]);
    expect(documents.find((document) => document.metadata.namespace === 'external')?.summary).toEqual({
      pass: 1,
      fail: 1,
      warn: 0,
      error: 0,
      skip: 0,
    });
  });

  it('gives the same ServiceEntry verdicts as `check` on the same objects dumped as YAML', async () => {
    const dump = await cluster.kubectl([
      'get',
      'serviceentries.networking.istio.io,destinationrules.networking.istio.io',
      '-A',
      '-o',
      'yaml',
    ]);
    const file = join(scratch, 'dump.yaml');
    writeFileSync(file, dump.stdout);
    const checked = await runCli(['check', '-f', file, '-o', 'json']);
    expect(checked.code).toBe(audit.code);
    const checkReport = JSON.parse(checked.stdout) as JsonReport;
    const verdicts = (findings: JsonFinding[]) =>
      findings
        .filter((finding) => finding.kind === 'ServiceEntry')
        .map(({ namespace, name, rule, severity, message, path }) => ({
          namespace,
          name,
          rule,
          severity,
          message,
          path,
        }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(verdicts(checkReport.findings)).toEqual(verdicts(report.findings));
    expect(checkReport.findings.every((finding) => finding.file === file && typeof finding.line === 'number')).toBe(
      true,
    );
  });

  it('exits 2 with a one-line error for an unknown context or an unreachable API server', async () => {
    const unknown = await runCli(['audit', '--kubeconfig', kubeconfig, '--context', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('egress-guard: context "nope" is not in the kubeconfig (contexts: e2e)\n');

    const unreachable = join(scratch, 'unreachable.kubeconfig');
    writeFileSync(
      unreachable,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'gone', cluster: { server: 'https://127.0.0.1:2', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'u' } }],
        'current-context': 'gone',
      }),
    );
    const down = await runCli(['audit', '--kubeconfig', unreachable]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^egress-guard: cannot list .*https:\/\/127\.0\.0\.1:2: .*ECONNREFUSED/);
    expect(down.stdout).toBe('');
  });
});
