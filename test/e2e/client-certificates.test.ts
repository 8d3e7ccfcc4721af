// The strong option with a real kube-apiserver: egress-guard started with CLIENT_CA_FILE answers only a client
// certificate signed by that CA, and kube-apiserver presents one because it runs with
// --admission-control-config-file = certs/apiserver/admission-configuration.yaml, whose kubeConfigFile is
// certs/apiserver/webhook-kubeconfig.yaml (the documented examples, read here; only paths, the user name and the
// certificate data are filled in). A second API server without that configuration is the negative control: its
// calls are refused at the TLS handshake, so with failurePolicy Fail its ServiceEntry writes fail.
//
// Run: npm run test:e2e -- test/e2e/client-certificates.test.ts
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { issue, newCa } from '../support/certificates.js';
import { installIstioCrds, startCluster, type Cluster } from './cluster.js';
import { makeCertificates, repoRoot, startEgressGuard, type EgressGuard } from './support/egress-guard.js';
import { VALIDATING_WEBHOOK, probeServiceEntry, renderWebhooks, waitUntilEffective } from './support/webhooks.js';
import { freePort } from '../support/ports.js';

const OPTED_IN = 'shop';
const EXTERNAL = 'external';
const EXAMPLES = join(repoRoot, 'certs', 'apiserver');

interface AdmissionConfiguration {
  apiVersion: string;
  kind: string;
  plugins: { name: string; configuration: { apiVersion: string; kind: string; kubeConfigFile: string } }[];
}
interface WebhookKubeconfig {
  users: { name: string; user: Record<string, string> }[];
}

let withCert: Cluster | undefined;
let withoutCert: Cluster | undefined;
let guard: EgressGuard | undefined;
let admissionConfiguration: AdmissionConfiguration;
let filesDir: string | undefined;

async function prepare(cluster: Cluster, webhooks: string): Promise<void> {
  await installIstioCrds(cluster);
  await cluster.kubectl(['apply', '-f', '-'], {
    stdin: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: OPTED_IN, labels: { 'egress-guard.io/dns-capture': 'enabled' } },
        },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: EXTERNAL } },
      ],
    }),
  });
  await cluster.kubectl(['apply', '-f', '-'], { stdin: webhooks });
}

beforeAll(async () => {
  const started = Date.now();
  const [clientCa, port] = await Promise.all([newCa('kube-apiserver client CA'), freePort()]);
  const apiserverClient = await issue(clientCa, { usage: 'client' });

  // The documented examples, filled in: the kubeconfig's user names the webhook's host:port.
  const dir = mkdtempSync(join(tmpdir(), 'egress-guard-client-cert-'));
  filesDir = dir;
  const kubeconfigFile = join(dir, 'webhook-kubeconfig.yaml');
  const admissionFile = join(dir, 'admission-configuration.yaml');
  const kubeconfig = parse(readFileSync(join(EXAMPLES, 'webhook-kubeconfig.yaml'), 'utf8')) as WebhookKubeconfig;
  const user = kubeconfig.users[0];
  if (kubeconfig.users.length !== 1 || !user) throw new Error('the example kubeconfig should have one user');
  user.name = `127.0.0.1:${port}`;
  user.user['client-certificate-data'] = Buffer.from(apiserverClient.certPem).toString('base64');
  user.user['client-key-data'] = Buffer.from(apiserverClient.keyPem).toString('base64');
  admissionConfiguration = parse(
    readFileSync(join(EXAMPLES, 'admission-configuration.yaml'), 'utf8'),
  ) as AdmissionConfiguration;
  for (const plugin of admissionConfiguration.plugins) plugin.configuration.kubeConfigFile = kubeconfigFile;
  writeFileSync(kubeconfigFile, stringify(kubeconfig), { mode: 0o600 });
  writeFileSync(admissionFile, stringify(admissionConfiguration), { mode: 0o600 });

  [withCert, withoutCert] = await Promise.all([
    startCluster({ apiserverArgs: [`--admission-control-config-file=${admissionFile}`] }),
    startCluster(),
  ]);

  const certificates = await makeCertificates(join(withCert.dir, 'egress-guard-certs'));
  const clientCaFile = join(withCert.dir, 'client-ca.crt');
  writeFileSync(clientCaFile, clientCa.certPem);
  guard = await startEgressGuard({
    kubeconfigPath: withCert.kubeconfigPath,
    certificates,
    logFile: join(withCert.logDir, 'egress-guard.log'),
    env: { PORT: String(port), CLIENT_CA_FILE: clientCaFile },
  });
  const webhooks = renderWebhooks(`https://127.0.0.1:${port}`, readFileSync(certificates.caCert, 'utf8'));
  await Promise.all([prepare(withCert, webhooks), prepare(withoutCert, webhooks)]);
  console.log(`beforeAll: ${Date.now() - started} ms`);
}, 120_000);

afterAll(async () => {
  try {
    await guard?.dispose();
  } finally {
    await Promise.all([withCert?.stop(), withoutCert?.stop()]);
    if (filesDir) rmSync(filesDir, { recursive: true, force: true });
  }
});

describe('kube-apiserver with the documented AdmissionConfiguration (client certificate)', () => {
  it('uses the example for both webhook plugins', () => {
    expect(admissionConfiguration).toMatchObject({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AdmissionConfiguration',
    });
    expect(admissionConfiguration.plugins.map((p) => p.name).sort()).toEqual([
      'MutatingAdmissionWebhook',
      'ValidatingAdmissionWebhook',
    ]);
  });

  it('reaches egress-guard through mTLS: a wildcard DNS ServiceEntry is denied, an opted-in pod is mutated', async () => {
    // Polls until the validating webhook denies and the mutating webhook adds proxy.istio.io/config.
    await waitUntilEffective(withCert!, { serviceEntries: EXTERNAL, optedInPods: OPTED_IN });
    const r = await withCert!.kubectl(['create', '-f', '-'], { stdin: probeServiceEntry(EXTERNAL), allowFail: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`admission webhook "${VALIDATING_WEBHOOK}" denied the request`);
  });
});

describe('kube-apiserver without it (negative control)', () => {
  it('is refused at the TLS handshake: ServiceEntry writes fail (failurePolicy Fail), pods go unmutated', async () => {
    const deadline = Date.now() + 30_000;
    let last: string;
    // The API server picks the new configuration up asynchronously; until then the write is admitted unchecked.
    for (;;) {
      const r = await withoutCert!.kubectl(['create', '--dry-run=server', '-f', '-'], {
        stdin: probeServiceEntry(EXTERNAL),
        allowFail: true,
      });
      last = r.stderr || r.stdout;
      if (r.code !== 0 && last.includes('failed calling webhook')) break;
      if (Date.now() > deadline) throw new Error(`no "failed calling webhook" after 30 s; last: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(last).toContain(`failed calling webhook "${VALIDATING_WEBHOOK}"`);
    expect(last).not.toContain('denied the request');
    console.log(`negative control: ${last.trim()}`);
    // The mutating webhook (failurePolicy Ignore) fails the same way, so the pod is admitted without the metadata.
    const pod = await withoutCert!.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], {
      stdin: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'probe', namespace: OPTED_IN },
        spec: { containers: [{ name: 'probe', image: 'registry.example.com/probe:1' }] },
      }),
    });
    expect(pod.stdout).not.toContain('proxy.istio.io/config');
  });
});
