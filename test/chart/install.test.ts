// helm install / upgrade / uninstall of deploy/helm/egress-guard on the e2e kube-apiserver (real etcd, RBAC,
// PodSecurity; no kubelet, so no pod runs: the server's part is played with kubectl as its ServiceAccount).
// What it shows: the chart installs with real Helm v4; the server's RBAC lets it fill the empty webhook
// configurations and Secret; `helm upgrade` (a new image) leaves what the server wrote alone; `helm uninstall`
// removes every object, webhook configurations included (Helm deletes those kinds first: its UninstallOrder).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { installIstioCrds, startCluster, type Cluster, type KubectlResult } from '../e2e/cluster.js';
import { CHART, ensureTools, helm, parseObjects, type RunResult } from './tools.js';

const NAMESPACE = 'egress-guard';
const SERVICE_ACCOUNT = `system:serviceaccount:${NAMESPACE}:egress-guard`;

let cluster: Cluster | undefined;
function k(): Cluster {
  if (!cluster) throw new Error('the cluster did not start (see beforeAll)');
  return cluster;
}
const kubectl = (args: string[], stdin?: string): Promise<KubectlResult> =>
  k().kubectl(args, { allowFail: true, ...(stdin === undefined ? {} : { stdin }) });
const helmOn = (args: string[]): Promise<RunResult> => helm([...args, '--kubeconfig', k().kubeconfigPath]);

beforeAll(async () => {
  const tools = await ensureTools();
  cluster = await startCluster();
  await installIstioCrds(cluster);
  await cluster.kubectl(['apply', '--server-side', '-f', tools.crdDir]);
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  // As the chart's README suggests; proves the pods pass `restricted`.
  await cluster.kubectl(['create', 'namespace', NAMESPACE]);
  await cluster.kubectl(['label', 'namespace', NAMESPACE, 'pod-security.kubernetes.io/enforce=restricted']);
}, 10 * 60_000);

afterAll(async () => {
  await cluster?.stop();
});

const ok = (r: RunResult | KubectlResult) => ({ code: r.code, stderr: r.stderr });

async function json(args: string[]): Promise<Record<string, unknown>> {
  const r = await kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** What the server writes once it serves (its real content comes from src/certs); a webhook that calls nothing here. */
function filledConfiguration(kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration', current: object) {
  return {
    ...current,
    webhooks: [
      {
        name:
          kind === 'ValidatingWebhookConfiguration' ? 'serviceentries.egress-guard.io' : 'dns-capture.egress-guard.io',
        admissionReviewVersions: ['v1'],
        clientConfig: {
          service: { namespace: NAMESPACE, name: 'egress-guard', path: '/validate/serviceentries', port: 443 },
          caBundle: Buffer.from('test CA').toString('base64'),
        },
        // Matches nothing in this test: no object carries the label.
        objectSelector: { matchLabels: { 'egress-guard.test/never': 'true' } },
        rules: [
          {
            apiGroups: ['networking.istio.io'],
            apiVersions: ['v1'],
            operations: ['CREATE'],
            resources: ['serviceentries'],
          },
        ],
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        timeoutSeconds: 5,
      },
    ],
  };
}

describe('helm install, upgrade and uninstall on a real API server', () => {
  it('helm install creates every object of the chart', async () => {
    const r = await helmOn(['install', 'egress-guard', CHART, '--namespace', NAMESPACE]);
    expect(ok(r)).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('STATUS: deployed');
    const manifest = await helmOn(['get', 'manifest', 'egress-guard', '--namespace', NAMESPACE]);
    // The API server served the Prometheus Operator's kinds, so `auto` rendered them.
    const objects = parseObjects(manifest.stdout);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['ServiceMonitor', 'PrometheusRule', 'NetworkPolicy']),
    );
    for (const o of objects) {
      const args = [
        'get',
        `${o.kind}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(/\.$/, ''),
        o.metadata.name,
      ];
      const r = await kubectl(o.metadata.namespace ? [...args, '-n', o.metadata.namespace] : args);
      expect({ object: `${o.kind}/${o.metadata.name}`, ...ok(r) }).toEqual({
        object: `${o.kind}/${o.metadata.name}`,
        code: 0,
        stderr: '',
      });
    }
  });

  it("admits a pod from the Deployment's template under PodSecurity restricted, priority class included", async () => {
    const deployment = (await json(['get', 'deployment', 'egress-guard', '-n', NAMESPACE])) as {
      spec: { template: { metadata: object; spec: { priorityClassName?: string } } };
    };
    expect(deployment.spec.template.spec.priorityClassName).toBe('system-cluster-critical');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...deployment.spec.template.metadata, name: 'template', namespace: NAMESPACE },
      spec: deployment.spec.template.spec,
    };
    const r = await kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
    expect(ok(r)).toEqual({ code: 0, stderr: '' });
  });

  it('the ServiceAccount may fill its own webhook configurations and Secret, and nothing else', async () => {
    const as = [`--as=${SERVICE_ACCOUNT}`];
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const) {
      const current = await json(['get', kind.toLowerCase(), 'egress-guard']);
      expect(current.webhooks).toBeUndefined();
      const r = await kubectl(['replace', ...as, '-f', '-'], JSON.stringify(filledConfiguration(kind, current)));
      expect(ok(r)).toEqual({ code: 0, stderr: '' });
    }
    const secret = await json(['get', 'secret', 'egress-guard-certs', '-n', NAMESPACE]);
    expect(secret.data).toBeUndefined();
    const filled = { ...secret, data: { 'ca.crt': Buffer.from('a CA').toString('base64') } };
    expect(ok(await kubectl(['replace', ...as, '-f', '-'], JSON.stringify(filled)))).toEqual({ code: 0, stderr: '' });
    // Not another Secret, not create or delete.
    for (const args of [
      ['get', 'secret', 'other', '-n', NAMESPACE],
      ['create', 'secret', 'generic', 'minted', '-n', NAMESPACE],
      ['delete', 'validatingwebhookconfiguration', 'egress-guard', '--dry-run=server'],
    ]) {
      const r = await kubectl([...args, ...as]);
      expect({ args, code: r.code, forbidden: /forbidden/i.test(r.stderr) }).toEqual({
        args,
        code: 1,
        forbidden: true,
      });
    }
  });

  it('helm upgrade with a new image rolls the Deployment and leaves what the server wrote alone', async () => {
    const r = await helmOn([
      'upgrade',
      'egress-guard',
      CHART,
      '--namespace',
      NAMESPACE,
      '--set',
      'image.tag=0.1.1',
      '--set',
      'config.logLevel=debug',
    ]);
    expect(ok(r)).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('REVISION: 2');
    const deployment = (await json(['get', 'deployment', 'egress-guard', '-n', NAMESPACE])) as {
      spec: { template: { spec: { containers: { image: string; env: { name: string; value?: string }[] }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0]?.image).toBe('ghcr.io/egress-guard/egress-guard:0.1.1');
    expect(deployment.spec.template.spec.containers[0]?.env).toContainEqual({ name: 'LOG_LEVEL', value: 'debug' });
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const configuration = (await json(['get', kind, 'egress-guard'])) as {
        webhooks?: { clientConfig: { caBundle: string } }[];
      };
      expect({
        kind,
        webhooks: configuration.webhooks?.length,
        caBundle: configuration.webhooks?.[0]?.clientConfig.caBundle,
      }).toEqual({
        kind,
        webhooks: 1,
        caBundle: Buffer.from('test CA').toString('base64'),
      });
    }
    const secret = (await json(['get', 'secret', 'egress-guard-certs', '-n', NAMESPACE])) as {
      data?: Record<string, string>;
    };
    expect(secret.data).toEqual({ 'ca.crt': Buffer.from('a CA').toString('base64') });
  });

  it('a second release with the same webhook configuration name is refused; with its own name it installs', async () => {
    await kubectl(['create', 'namespace', 'platform']);
    const clash = await helmOn(['install', 'guard', CHART, '--namespace', 'platform']);
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toMatch(
      /ValidatingWebhookConfiguration "egress-guard".*exists|MutatingWebhookConfiguration "egress-guard".*exists/,
    );
    const own = await helmOn([
      'install',
      'guard',
      CHART,
      '--namespace',
      'platform',
      '--set',
      'webhooks.configurationName=guard',
    ]);
    expect(ok(own)).toEqual({ code: 0, stderr: '' });
    expect(ok(await helmOn(['uninstall', 'guard', '--namespace', 'platform']))).toEqual({ code: 0, stderr: '' });
  });

  it('helm uninstall removes every object', async () => {
    const manifest = parseObjects((await helmOn(['get', 'manifest', 'egress-guard', '--namespace', NAMESPACE])).stdout);
    const r = await helmOn(['uninstall', 'egress-guard', '--namespace', NAMESPACE]);
    expect(r.code).toBe(0);
    for (const o of manifest) {
      const args = [
        'get',
        `${o.kind}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(/\.$/, ''),
        o.metadata.name,
      ];
      const got = await kubectl(o.metadata.namespace ? [...args, '-n', o.metadata.namespace] : args);
      expect({
        object: `${o.kind}/${o.metadata.name}`,
        code: got.code,
        notFound: /NotFound|not found/.test(got.stderr),
      }).toEqual({
        object: `${o.kind}/${o.metadata.name}`,
        code: 1,
        notFound: true,
      });
    }
  });

  it('installs and uninstalls with certificates from cert-manager', async () => {
    const r = await helmOn([
      'install',
      'egress-guard',
      CHART,
      '--namespace',
      NAMESPACE,
      '--set',
      'certificates.source=cert-manager',
    ]);
    expect(ok(r)).toEqual({ code: 0, stderr: '' });
    const certificate = (await json(['get', 'certificates.cert-manager.io', 'egress-guard-tls', '-n', NAMESPACE])) as {
      spec: { secretName: string; dnsNames: string[] };
    };
    expect(certificate.spec.secretName).toBe('egress-guard-tls');
    expect(certificate.spec.dnsNames).toContain('egress-guard.egress-guard.svc');
    expect(ok(await helmOn(['uninstall', 'egress-guard', '--namespace', NAMESPACE]))).toEqual({ code: 0, stderr: '' });
    expect((await kubectl(['get', 'certificates.cert-manager.io', '-n', NAMESPACE, '-o', 'name'])).stdout).toBe('');
  });
});
