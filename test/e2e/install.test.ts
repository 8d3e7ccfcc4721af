// Install, upgrade and uninstall of deploy/ with self-managed certificates on a real API server, while a writer
// keeps creating ServiceEntries and pods: no write may fail because of egress-guard other than our deliberate denials.
// The test plays the node: a "kubelet" runs the Deployment's container (dist/src/main.js with the Deployment's env,
// authenticated as the egress-guard ServiceAccount, so RBAC is the manifests' own) and a "Service" forwards
// connections to ready replicas. An overlay only adds WEBHOOK_URL_BASE (the Service's address here) and a short
// CERT_CHECK_SECONDS.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join, relative } from 'node:path';
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
const WRITER_NAMESPACE = 'writer';
const SA = `system:serviceaccount:${NAMESPACE}:egress-guard`;

let cluster: Cluster;
let kubelet: Kubelet | undefined;
let service: Awaited<ReturnType<typeof startService>> | undefined;
let writer: Writer | undefined;
let overlay: string;
const timings: Record<string, number> = {};

function writeOverlay(servicePort: number, imageTag?: string): void {
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    sortOptions: { order: 'fifo' },
    resources: [relative(overlay, join(repoRoot, 'deploy'))],
    ...(imageTag ? { images: [{ name: 'ghcr.io/egress-guard/egress-guard', newTag: imageTag }] } : {}),
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
                      { name: 'WEBHOOK_URL_BASE', value: `https://127.0.0.1:${servicePort}` },
                      { name: 'CERT_CHECK_SECONDS', value: '2' },
                    ],
                  },
                ],
              },
            },
          },
        }),
      },
    ],
  };
  writeFileSync(join(overlay, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse((await cluster.kubectl([...args, '-o', 'json'])).stdout) as T;
}

interface Configuration {
  webhooks?: { name: string; clientConfig: { url?: string; caBundle?: string } }[];
}

async function secretData(): Promise<Record<string, string>> {
  const secret = await json<{ data?: Record<string, string> }>([
    'get',
    'secret',
    'egress-guard-certs',
    '-n',
    NAMESPACE,
  ]);
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
}

/** The certificate a replica presents on its admission port. */
function servedCertificate(replica: Replica): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: replica.port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.end();
      if (raw) resolve(raw);
      else reject(new Error('no certificate'));
    });
    socket.once('error', reject);
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const registered = async () =>
  (await json<Configuration>(['get', 'validatingwebhookconfiguration', 'egress-guard'])).webhooks?.length === 1;

function lines(replica: Replica, message: string): number {
  return readFileSync(replica.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"msg":"${message}"`)).length;
}

beforeAll(async () => {
  cluster = await startCluster();
  await installIstioCrds(cluster);
  overlay = join(cluster.dir, 'overlay');
  mkdirSync(overlay, { recursive: true });
  await cluster.kubectl(['create', 'namespace', WRITER_NAMESPACE]);
  await cluster.kubectl(['label', 'namespace', WRITER_NAMESPACE, 'egress-guard.io/dns-capture=enabled']);
}, 10 * 60_000);

afterAll(async () => {
  await writer?.stop();
  console.log(`writer counts per phase:\n${writer?.table() ?? ''}\ntimings (ms): ${JSON.stringify(timings)}`);
  await kubelet?.dispose();
  await service?.close();
  await cluster?.stop();
});

describe('kubectl apply -k deploy/, a rolling upgrade and kubectl delete -k, with a writer running throughout', () => {
  let replicas: Replica[] = [];

  it('install: two replicas starting at once make one CA, register the webhooks, and nothing fails meanwhile', async () => {
    const node = new Kubelet(cluster.logDir);
    kubelet = node;
    service = await startService(node);
    writeOverlay(service.port);
    writer = new Writer(cluster.kubeconfigPath, WRITER_NAMESPACE);
    writer.start();
    await sleep(1500);

    const started = Date.now();
    writer.phase = 'install';
    await cluster.kubectl(['apply', '-k', overlay]);
    // The shells are there and call nothing yet.
    expect(
      (await json<Configuration>(['get', 'validatingwebhookconfiguration', 'egress-guard'])).webhooks,
    ).toBeUndefined();
    node.kubeconfig = await serviceAccountKubeconfig(cluster, NAMESPACE, 'egress-guard');
    const env = await deploymentEnv(cluster, NAMESPACE, 'egress-guard');
    const deployment = await json<{ spec: { replicas: number } }>([
      'get',
      'deployment',
      'egress-guard',
      '-n',
      NAMESPACE,
    ]);
    expect(deployment.spec.replicas).toBe(2);
    replicas = await Promise.all([node.start('v1-a', env), node.start('v1-b', env)]);
    await Promise.all(replicas.map((r) => node.waitReady(r)));
    timings.installReady = Date.now() - started;
    await waitFor('the webhooks to be registered', registered);
    timings.installRegistered = Date.now() - started;
    await waitFor('a deliberate denial', async () => writer!.in('install').denied > 0);
    timings.installEnforced = Date.now() - started;
    await sleep(3000);

    // One CA, written by exactly one replica; both serve the Secret's certificate (the other adopted it).
    const data = await secretData();
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(data['ca.crt']!.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(replicas.map((r) => lines(r, 'wrote the certificate Secret')).reduce((a, b) => a + b)).toBe(1);
    const expected = new X509Certificate(data['tls.crt']!).fingerprint256;
    for (const replica of replicas) expect((await servedCertificate(replica)).fingerprint256).toBe(expected);
    const ca = Buffer.from(data['ca.crt']!).toString('base64');
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const config = await json<Configuration>(['get', kind, 'egress-guard']);
      expect(
        config.webhooks?.map((w) => [
          w.clientConfig.url?.startsWith(`https://127.0.0.1:${service!.port}/`),
          w.clientConfig.caBundle,
        ]),
      ).toEqual([[true, ca]]);
    }
    expect(writer.in('install').mutatedPods).toBeGreaterThan(0);
    expect(writer.in('before').failures + writer.in('install').failures).toBe(0);
  });

  it('the ServiceAccount may get and update only its own Secret and webhook configurations, and create nothing', async () => {
    const can = async (...args: string[]) =>
      (await cluster.kubectl(['auth', 'can-i', ...args, `--as=${SA}`], { allowFail: true })).stdout.trim();
    expect(await can('update', 'secret/egress-guard-certs', '-n', NAMESPACE)).toBe('yes');
    expect(await can('get', 'secret/other', '-n', NAMESPACE)).toBe('no');
    expect(await can('create', 'secrets', '-n', NAMESPACE)).toBe('no');
    expect(await can('list', 'secrets', '-n', NAMESPACE)).toBe('no');
    expect(await can('update', 'validatingwebhookconfiguration/egress-guard')).toBe('yes');
    expect(await can('update', 'validatingwebhookconfiguration/istio-validator')).toBe('no');
    expect(await can('create', 'mutatingwebhookconfigurations')).toBe('no');
    expect(await can('delete', 'mutatingwebhookconfiguration/egress-guard')).toBe('no');
  });

  it('upgrade: re-applied manifests keep the webhooks and the CA; new replicas come up before old ones stop', async () => {
    const before = await secretData();
    const started = Date.now();
    writer!.phase = 'upgrade';
    writeOverlay(service!.port, '0.2.0');
    await cluster.kubectl(['apply', '-k', overlay]);
    expect(await registered()).toBe(true);
    expect(await secretData()).toEqual(before);
    const env = await deploymentEnv(cluster, NAMESPACE, 'egress-guard');
    // maxSurge 1, maxUnavailable 0: one new pod ready, then one old pod terminated; twice.
    const next: Replica[] = [];
    for (const [index, old] of replicas.entries()) {
      const fresh = await kubelet!.start(`v2-${index}`, env);
      await kubelet!.waitReady(fresh);
      next.push(fresh);
      expect(await kubelet!.terminate(old)).toBe(0);
    }
    replicas = next;
    timings.upgrade = Date.now() - started;
    await sleep(3000);
    expect(await registered()).toBe(true);
    expect(await secretData()).toEqual(before);
    expect(writer!.in('upgrade').denied).toBeGreaterThan(0);
    expect(writer!.in('upgrade').failures).toBe(0);
  });

  it('uninstall: kubectl delete -k removes the webhooks first; the pods stop after; nothing fails', async () => {
    const started = Date.now();
    writer!.phase = 'uninstall';
    // The namespace stays Terminating without a namespace controller: do not wait for it.
    const deleted = await cluster.kubectl(['delete', '-k', overlay, '--wait=false']);
    const order = deleted.stdout.trim().split('\n');
    expect(order.slice(0, 2)).toEqual([
      'mutatingwebhookconfiguration.admissionregistration.k8s.io "egress-guard" deleted',
      'validatingwebhookconfiguration.admissionregistration.k8s.io "egress-guard" deleted',
    ]);
    // The Deployment is gone: garbage collection deletes its pods and the kubelet stops them.
    await Promise.all(replicas.map((r) => kubelet!.terminate(r)));
    timings.uninstall = Date.now() - started;
    await sleep(2000);
    writer!.phase = 'after';
    await sleep(2000);
    await writer!.stop();
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration'])
      expect((await cluster.kubectl(['get', kind, 'egress-guard'], { allowFail: true })).code).not.toBe(0);
    for (const phase of ['uninstall', 'after']) expect(writer!.in(phase).failures).toBe(0);
    expect(writer!.in('after').wildcardAdmitted).toBeGreaterThan(0);
    for (const [phase, counts] of writer!.counts)
      expect({ phase, messages: counts.failureMessages }).toEqual({ phase, messages: [] });
  });
});
