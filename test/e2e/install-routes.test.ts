// The two alternatives to self-managed certificates, installed from the manifests on a real API server with the
// test playing the node (see install.test.ts): a certificate brought by the user (`npm run certs`, Secret without
// ca.key) and cert-manager's (deploy/cert-manager; the test plays cert-manager and writes egress-guard-tls as it
// would). In both the server serves the Secret as it is, never writes it, registers its ca.crt, and serves a renewed
// certificate without a restart, after caBundle trusts it: a writer counts 0 failures through a CA change.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { generateCa, issueServingCertificate } from '../../src/certs/generate.js';
import { serviceDnsNames } from '../../src/certs/service-names.js';
import { installIstioCrds, startCluster, type Cluster } from './cluster.js';
import { repoRoot } from './support/egress-guard.js';
import {
  deploymentEnv,
  Kubelet,
  serviceAccountKubeconfig,
  sleep,
  startService,
  type Replica,
} from './support/kubelet.js';
import { Writer } from './support/writer.js';

const NAMESPACE = 'egress-guard';
const clusters: Cluster[] = [];
const cleanups: (() => Promise<void>)[] = [];
const report: string[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  for (const cluster of clusters) await cluster.stop();
  console.log(report.join('\n'));
});

interface Node {
  cluster: Cluster;
  kubelet: Kubelet;
  replica: Replica;
  writer: Writer;
}

/** A cluster with `deployDir` applied through an overlay pointing the webhooks at the test's Service. */
async function install(deployDir: string, beforeStart: (cluster: Cluster) => Promise<void>): Promise<Node> {
  const cluster = await startCluster();
  clusters.push(cluster);
  await installIstioCrds(cluster);
  await cluster.kubectl(['create', 'namespace', 'writer']);
  await cluster.kubectl(['label', 'namespace', 'writer', 'egress-guard.io/dns-capture=enabled']);
  const kubelet = new Kubelet(cluster.logDir);
  const service = await startService(kubelet);
  cleanups.push(async () => {
    await kubelet.dispose();
    await service.close();
  });
  const overlay = join(cluster.dir, 'overlay');
  mkdirSync(overlay, { recursive: true });
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    JSON.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      sortOptions: { order: 'fifo' },
      resources: [relative(overlay, deployDir)],
      patches: [
        {
          patch: JSON.stringify({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'egress-guard', namespace: NAMESPACE },
            spec: {
              template: {
                spec: {
                  containers: [
                    {
                      name: 'egress-guard',
                      env: [
                        { name: 'WEBHOOK_URL_BASE', value: `https://127.0.0.1:${service.port}` },
                        { name: 'CERT_CHECK_SECONDS', value: '1' },
                      ],
                    },
                  ],
                },
              },
            },
          }),
        },
      ],
    }),
  );
  await beforeStart(cluster);
  await cluster.kubectl(['apply', '-k', overlay]);
  kubelet.kubeconfig = await serviceAccountKubeconfig(cluster, NAMESPACE, 'egress-guard');
  const writer = new Writer(cluster.kubeconfigPath, 'writer');
  cleanups.push(() => writer.stop());
  return { cluster, kubelet, replica: undefined as unknown as Replica, writer };
}

async function start(node: Node, secret: (cluster: Cluster) => Promise<void>): Promise<void> {
  await secret(node.cluster);
  node.replica = await node.kubelet.start('replica', await deploymentEnv(node.cluster, NAMESPACE, 'egress-guard'));
  await node.kubelet.waitReady(node.replica);
  await waitFor('the webhooks', async () => (await caBundle(node.cluster)) !== undefined);
  node.writer.start();
}

async function caBundle(cluster: Cluster): Promise<string | undefined> {
  const { stdout } = await cluster.kubectl(['get', 'validatingwebhookconfiguration', 'egress-guard', '-o', 'json']);
  const config = JSON.parse(stdout) as { webhooks?: { clientConfig: { caBundle?: string } }[] };
  const bundle = config.webhooks?.[0]?.clientConfig.caBundle;
  return bundle === undefined ? undefined : Buffer.from(bundle, 'base64').toString();
}

async function secret(
  cluster: Cluster,
  name: string,
): Promise<{ resourceVersion: string; data: Record<string, string> }> {
  const { stdout } = await cluster.kubectl(['get', 'secret', name, '-n', NAMESPACE, '-o', 'json']);
  const object = JSON.parse(stdout) as { metadata: { resourceVersion: string }; data: Record<string, string> };
  return {
    resourceVersion: object.metadata.resourceVersion,
    data: Object.fromEntries(Object.entries(object.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])),
  };
}

function served(replica: Replica): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: replica.port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
      socket.end();
    });
    socket.once('error', reject);
  });
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** `npm run certs` as a user runs it; the serving certificate gets the IP SAN the API server dials here. */
function certsScript(out: string, ...more: string[]): string {
  const result = spawnSync(
    process.execPath,
    [join(repoRoot, 'dist/src/certs/cli.js'), '--out', out, '--ip', '127.0.0.1', ...more],
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`npm run certs failed: ${result.stderr}${result.stdout}`);
  return join(out, 'secret.yaml');
}

function counts(node: Node, label: string): void {
  const c = node.writer.in('before');
  report.push(
    `${label}: serviceEntries=${c.serviceEntries} denied=${c.denied} pods=${c.pods} mutated=${c.mutatedPods} failures=${c.failures} ${c.failureMessages.join('; ')}`,
  );
  expect(c.failureMessages).toEqual([]);
  expect(c.denied).toBeGreaterThan(0);
}

describe('bring your own certificate (npm run certs)', () => {
  let node: Node;
  let out: string;

  it('serves the Secret as it is, registers its ca.crt and never writes the Secret', async () => {
    node = await install(join(repoRoot, 'deploy'), async () => undefined);
    out = join(node.cluster.dir, 'certs-out');
    await start(node, async (cluster) => {
      await cluster.kubectl(['apply', '-f', certsScript(out)]);
    });
    const before = await secret(node.cluster, 'egress-guard-certs');
    expect(Object.keys(before.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(await served(node.replica)).toBe(fingerprint(readFileSync(join(out, 'tls.crt'), 'utf8')));
    expect(await caBundle(node.cluster)).toBe(readFileSync(join(out, 'ca.crt'), 'utf8'));
    await sleep(2500);
    expect((await secret(node.cluster, 'egress-guard-certs')).resourceVersion).toBe(before.resourceVersion);
  });

  it('serves a renewed certificate and then one from a new CA without a restart, with 0 failed writes', async () => {
    const pid = node.replica.child.pid;
    await node.cluster.kubectl(['apply', '-f', certsScript(out)]);
    const renewed = fingerprint(readFileSync(join(out, 'tls.crt'), 'utf8'));
    await waitFor('the renewed certificate', async () => (await served(node.replica)) === renewed);
    const oldCa = readFileSync(join(out, 'ca.crt'), 'utf8');
    await node.cluster.kubectl(['apply', '-f', certsScript(out, '--new-ca')]);
    const fromNewCa = fingerprint(readFileSync(join(out, 'tls.crt'), 'utf8'));
    await waitFor('the certificate from the new CA', async () => (await served(node.replica)) === fromNewCa);
    expect(await caBundle(node.cluster)).toBe(readFileSync(join(out, 'ca.crt'), 'utf8') + oldCa);
    await sleep(2000);
    expect(node.replica.child.pid).toBe(pid);
    expect(node.replica.child.exitCode).toBeNull();
    await node.writer.stop();
    counts(node, 'bring your own, through a renewal and a CA change');
  });
});

describe('cert-manager (deploy/cert-manager)', () => {
  it("serves cert-manager's Secret egress-guard-tls, registers its ca.crt, and follows a renewal; 0 failed writes", async () => {
    const names = serviceDnsNames();
    const issue = async (caPem?: { certPem: string; keyPem: string }) => {
      const ca = caPem ?? (await generateCa('egress-guard-ca', 30));
      const pair = await issueServingCertificate(ca, {
        commonName: 'egress-guard.egress-guard.svc',
        dnsNames: names,
        ipAddresses: ['127.0.0.1'],
        days: 10,
      });
      return { ca, pair };
    };
    const tlsSecret = (ca: string, pair: { certPem: string; keyPem: string }) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name: 'egress-guard-tls', namespace: NAMESPACE },
        stringData: { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem, 'ca.crt': ca },
      });
    // cert-manager's kinds exist in such a cluster; here only as schemaless CRDs, so the overlay applies.
    const node = await install(join(repoRoot, 'deploy', 'cert-manager'), async (cluster) => {
      for (const [kind, plural] of [
        ['Issuer', 'issuers'],
        ['Certificate', 'certificates'],
      ] as const)
        await cluster.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(crd(kind, plural)) });
      await cluster.kubectl([
        'wait',
        '--for=condition=Established',
        'crd/issuers.cert-manager.io',
        'crd/certificates.cert-manager.io',
      ]);
    });
    const first = await issue();
    await start(node, async (cluster) => {
      await cluster.kubectl(['apply', '-f', '-'], { stdin: tlsSecret(first.ca.certPem, first.pair) });
    });
    expect(await served(node.replica)).toBe(fingerprint(first.pair.certPem));
    expect(await caBundle(node.cluster)).toBe(first.ca.certPem);
    const renewal = await issue(first.ca);
    await node.cluster.kubectl(['apply', '-f', '-'], { stdin: tlsSecret(first.ca.certPem, renewal.pair) });
    await waitFor(
      'the renewed certificate',
      async () => (await served(node.replica)) === fingerprint(renewal.pair.certPem),
    );
    await sleep(1500);
    await node.writer.stop();
    counts(node, 'cert-manager, through a renewal');
  });
});

function crd(kind: string, plural: string): unknown {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.cert-manager.io` },
    spec: {
      group: 'cert-manager.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}
