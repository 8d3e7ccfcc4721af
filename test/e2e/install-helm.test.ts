// helm install, a rolling helm upgrade (new image) and helm uninstall of deploy/helm/egress-guard on a real API
// server, with a writer creating ServiceEntries and pods throughout: no write may fail because of egress-guard
// other than our deliberate denials. The test plays the node as in install.test.ts; the chart's extraEnv only adds
// WEBHOOK_URL_BASE (the test's Service) and certificates.checkSeconds is short.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART, ensureTools, helm } from '../chart/tools.js';
import { installIstioCrds, startCluster, type Cluster } from './cluster.js';
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
let cluster: Cluster;
let kubelet: Kubelet | undefined;
let service: Awaited<ReturnType<typeof startService>> | undefined;
let writer: Writer | undefined;
const timings: Record<string, number> = {};

async function helmOn(args: string[]): Promise<void> {
  const r = await helm([...args, '--kubeconfig', cluster.kubeconfigPath]);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr}${r.stdout}`);
}

function values(port: number): string {
  const path = join(cluster.dir, 'values.json');
  writeFileSync(
    path,
    JSON.stringify({
      config: { extraEnv: [{ name: 'WEBHOOK_URL_BASE', value: `https://127.0.0.1:${port}` }] },
      certificates: { checkSeconds: 2 },
    }),
  );
  return path;
}

async function registered(): Promise<boolean> {
  const r = await cluster.kubectl(['get', 'validatingwebhookconfiguration', 'egress-guard', '-o', 'json'], {
    allowFail: true,
  });
  return r.code === 0 && ((JSON.parse(r.stdout) as { webhooks?: unknown[] }).webhooks?.length ?? 0) === 1;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

beforeAll(async () => {
  // Helm from its pinned Go module (a cold build in CI, before test:chart has run): not charged to a test.
  await ensureTools();
  cluster = await startCluster();
  await installIstioCrds(cluster);
  await cluster.kubectl(['create', 'namespace', 'writer']);
  await cluster.kubectl(['label', 'namespace', 'writer', 'egress-guard.io/dns-capture=enabled']);
}, 10 * 60_000);

afterAll(async () => {
  await writer?.stop();
  console.log(`helm: writer counts per phase:\n${writer?.table() ?? ''}\ntimings (ms): ${JSON.stringify(timings)}`);
  await kubelet?.dispose();
  await service?.close();
  await cluster?.stop();
});

describe('helm install, a rolling helm upgrade and helm uninstall, with a writer running throughout', () => {
  let replicas: Replica[] = [];

  it('install: the replicas fill the Secret and the webhooks; nothing fails meanwhile', async () => {
    const node = new Kubelet(cluster.logDir);
    kubelet = node;
    service = await startService(node);
    writer = new Writer(cluster.kubeconfigPath, 'writer');
    writer.start();
    await sleep(1500);
    const started = Date.now();
    writer.phase = 'install';
    await helmOn(['install', 'egress-guard', CHART, '-n', NAMESPACE, '--create-namespace', '-f', values(service.port)]);
    expect(await registered()).toBe(false);
    node.kubeconfig = await serviceAccountKubeconfig(cluster, NAMESPACE, 'egress-guard');
    const env = await deploymentEnv(cluster, NAMESPACE, 'egress-guard');
    replicas = await Promise.all([node.start('helm-v1-a', env), node.start('helm-v1-b', env)]);
    await Promise.all(replicas.map((r) => node.waitReady(r)));
    await waitFor('the webhooks to be registered', registered);
    await waitFor('a deliberate denial', async () => writer!.in('install').denied > 0);
    timings.install = Date.now() - started;
    await sleep(2000);
    expect(writer.in('before').failureMessages.concat(writer.in('install').failureMessages)).toEqual([]);
  });

  it('upgrade: helm upgrade with a new image keeps the webhooks; new replicas come up before old ones stop', async () => {
    const started = Date.now();
    writer!.phase = 'upgrade';
    await helmOn([
      'upgrade',
      'egress-guard',
      CHART,
      '-n',
      NAMESPACE,
      '-f',
      values(service!.port),
      '--set',
      'image.tag=0.2.0',
    ]);
    expect(await registered()).toBe(true);
    const env = await deploymentEnv(cluster, NAMESPACE, 'egress-guard');
    const next: Replica[] = [];
    for (const [index, old] of replicas.entries()) {
      const fresh = await kubelet!.start(`helm-v2-${index}`, env);
      await kubelet!.waitReady(fresh);
      next.push(fresh);
      expect(await kubelet!.terminate(old)).toBe(0);
    }
    replicas = next;
    timings.upgrade = Date.now() - started;
    await sleep(2000);
    expect(await registered()).toBe(true);
    expect(writer!.in('upgrade').denied).toBeGreaterThan(0);
    expect(writer!.in('upgrade').failureMessages).toEqual([]);
  });

  it('uninstall: helm uninstall removes the webhooks first; the pods stop after; nothing fails', async () => {
    const started = Date.now();
    writer!.phase = 'uninstall';
    await helmOn(['uninstall', 'egress-guard', '-n', NAMESPACE]);
    expect(await registered()).toBe(false);
    await Promise.all(replicas.map((r) => kubelet!.terminate(r)));
    timings.uninstall = Date.now() - started;
    await sleep(2000);
    writer!.phase = 'after';
    await sleep(2000);
    await writer!.stop();
    for (const phase of ['uninstall', 'after']) expect(writer!.in(phase).failureMessages).toEqual([]);
    expect(writer!.in('after').wildcardAdmitted).toBeGreaterThan(0);
  });
});
