// egress-guard beside Istio's real webhooks: Istio's sidecar injector and istiod's validating webhook (built from the
// istio.io/istio pinned in test/istio/go.mod by test/istio/webhooks/build.sh, configured from Istio's own chart)
// registered in a real kube-apiserver with the chart's webhook configurations, next to deploy/base/webhooks.yaml,
// and a kube-controller-manager so that `kubectl create deployment` makes pods the way a cluster does. The sidecar's
// env is what Istio's injector rendered from the proxy.istio.io/config our webhook left on the pod.
//
// Run: npm run test:e2e -- test/e2e/istio.test.ts   (a cold build of the Istio program takes several minutes)
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installIstioCrds, startCluster, suiteCluster, type Cluster, type KubectlResult } from './cluster.js';
import { makeCertificates, startEgressGuard, type CertificateFiles, type EgressGuard } from './support/egress-guard.js';
import {
  ISTIO_DEFAULT_VALIDATOR,
  ISTIO_INJECTOR_CONFIGURATION,
  ISTIO_NAMESPACE_INJECTOR,
  ISTIO_VALIDATING_WEBHOOK,
  buildIstioWebhooks,
  startIstioWebhooks,
  type IstioWebhooks,
} from './support/istio-webhooks.js';
import { VALIDATING_WEBHOOK, renderWebhooks, waitUntilEffective } from './support/webhooks.js';

const MESH = 'shop'; // egress-guard.io/dns-capture=enabled and istio-injection=enabled
const ISTIO_ONLY = 'legacy'; // istio-injection=enabled only
const EXTERNAL = 'external'; // ServiceEntries
const DNS_KEYS = ['ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE'];

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
}
interface Pod {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[] };
}

let cluster: Cluster | undefined;
let guard: EgressGuard | undefined;
let istio: IstioWebhooks | undefined;
let istioBinary = '';
let guardCertificates: CertificateFiles | undefined;

const { k, kubectl } = suiteCluster(() => cluster);

const transcript: string[] = [];
function record(title: string, args: string[], r: KubectlResult): void {
  transcript.push(`$ kubectl ${args.join(' ')}   # ${title}\n${r.stderr}${r.stdout}[exit ${r.code}]`);
}
async function recorded(title: string, args: string[], stdin?: unknown): Promise<KubectlResult> {
  const r = await kubectl(args, stdin, true);
  record(title, args, r);
  return r;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The pods a Deployment's ReplicaSet created (kube-controller-manager), once there are `count`. */
function podsOf(namespace: string, app: string, count = 1): Promise<Pod[]> {
  return until(`${count} pod(s) app=${app} in ${namespace}`, async () => {
    const { stdout } = await kubectl(['get', 'pods', '-n', namespace, '-l', `app=${app}`, '-o', 'json']);
    const items = (JSON.parse(stdout) as { items: Pod[] }).items;
    return items.length === count ? items : undefined;
  });
}

function sidecar(pod: Pod): Container | undefined {
  return [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((c) => c.name === 'istio-proxy');
}

/** ISTIO_META_DNS_* of the istio-proxy container's env, as Istio's injector rendered it. */
function dnsEnv(pod: Pod): Record<string, string | undefined> {
  const env = sidecar(pod)?.env ?? [];
  return Object.fromEntries(env.filter((e) => DNS_KEYS.includes(e.name)).map((e) => [e.name, e.value]));
}

/** kubectl's own view of the same env, for the transcript. */
function envQuery(namespace: string, app: string): string[] {
  const value = (key: string): string => `{.spec.containers[?(@.name=="istio-proxy")].env[?(@.name=="${key}")].value}`;
  const line = DNS_KEYS.map((key) => `{" ${key}="}${value(key)}`).join('');
  return [
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    `app=${app}`,
    '-o',
    `jsonpath={range .items[*]}{.metadata.name}:${line}{"\\n"}{end}`,
  ];
}

function deployment(name: string, namespace: string, annotations: Record<string, string>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: { containers: [{ name, image: `registry.example.com/${name}:1` }] },
      },
    },
  };
}

/** A wildcard host with resolution DNS, TLS on 443; with an endpoint whose name DNS can resolve, or none. */
function wildcardDnsEntry(name: string, endpoints: boolean, namespace = EXTERNAL) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace },
    spec: {
      hosts: ['*.httpbin.org'],
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
      ...(endpoints ? { endpoints: [{ address: 'httpbin.org' }] } : {}),
    },
  };
}

/** Only istiod denies this one (an endpoint port the entry does not declare); egress-guard at most warns. */
function istiodOnlyProbe() {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'istio-probe', namespace: EXTERNAL },
    spec: {
      hosts: ['api.example.com'],
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
      endpoints: [{ address: 'a.example.com', ports: { undeclared: 8443 } }],
    },
  };
}

/** Both webhooks admit it; its unique name shows in egress-guard's review log line iff egress-guard was called. */
let probes = 0;
async function calledEgressGuard(): Promise<boolean> {
  const name = `guard-probe-${++probes}`;
  const entry = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace: EXTERNAL },
    spec: {
      hosts: ['*.probe.example.com'],
      resolution: 'NONE',
      ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
    },
  };
  await kubectl(['create', '--dry-run=server', '-f', '-'], entry);
  await new Promise((resolve) => setTimeout(resolve, 500)); // the log line is written asynchronously
  return (guard?.logLines() ?? []).some((line) => line.msg === 'review' && line.name === name);
}

const deniedBy = (webhook: string): string => `admission webhook "${webhook}" denied the request`;

beforeAll(async () => {
  // A cold build compiles Istio and its installer (helm); warm, it is a cache lookup.
  istioBinary = await buildIstioWebhooks();
}, 60 * 60_000);

beforeAll(async () => {
  cluster = await startCluster({ controllerManager: true });
  await installIstioCrds(cluster);
  await kubectl(['apply', '-f', '-'], {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: MESH, labels: { 'egress-guard.io/dns-capture': 'enabled', 'istio-injection': 'enabled' } },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ISTIO_ONLY, labels: { 'istio-injection': 'enabled' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: EXTERNAL } },
    ],
  });

  guardCertificates = await makeCertificates(join(cluster.dir, 'egress-guard-certs'));
  guard = await startEgressGuard({
    kubeconfigPath: cluster.kubeconfigPath,
    certificates: guardCertificates,
    logFile: join(cluster.logDir, 'egress-guard.log'),
  });
  await kubectl(['apply', '-f', '-'], renderWebhooks(guard.baseUrl, readFileSync(guardCertificates.caCert, 'utf8')));
  await waitUntilEffective(cluster, { serviceEntries: EXTERNAL, optedInPods: MESH });

  const istioCertificates = await makeCertificates(join(cluster.dir, 'istio-certs'));
  istio = await startIstioWebhooks({
    binary: istioBinary,
    certificates: istioCertificates,
    dir: join(cluster.dir, 'istio'),
    logFile: join(cluster.logDir, 'istio-webhooks.log'),
  });
  await kubectl(['apply', '-f', '-'], istio.configurations);
  // Effective once a dry-run pod comes back with a sidecar and istiod denies what only istiod denies.
  await until('Istio webhooks effective', async () => {
    const pod = await kubectl(
      ['run', 'probe', '-n', MESH, '--image=registry.example.com/p:1', '--dry-run=server', '-o', 'json'],
      undefined,
      true,
    );
    if (pod.code !== 0 || !pod.stdout.includes('"istio-proxy"')) return undefined;
    const se = await kubectl(['create', '--dry-run=server', '-f', '-'], istiodOnlyProbe(), true);
    return se.stderr.includes(deniedBy(ISTIO_VALIDATING_WEBHOOK)) ? true : undefined;
  });
}, 10 * 60_000);

afterAll(async () => {
  try {
    if (transcript.length > 0)
      console.log(`==================== kubectl transcript ====================\n${transcript.join('\n\n')}`);
    if (cluster)
      console.log(
        `Istio webhooks log: ${istio?.logFile}; egress-guard log: ${guard?.logFile}; cluster logs: ${cluster.logDir}`,
      );
  } finally {
    try {
      await istio?.stop();
      await guard?.dispose();
    } finally {
      await cluster?.stop();
    }
  }
});

describe('the registrations', () => {
  it("Istio's chart configurations point at the loopback server, and egress-guard's mutating one sorts first", async () => {
    const args = ['get', 'mutatingwebhookconfigurations', '-o', 'name'];
    const r = await recorded('the API server calls mutating configurations in name order', args);
    expect(r.stdout.trim().split('\n')).toEqual([
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/egress-guard',
      `mutatingwebhookconfiguration.admissionregistration.k8s.io/${ISTIO_INJECTOR_CONFIGURATION}`,
    ]);
    const { stdout } = await kubectl([
      'get',
      'mutatingwebhookconfiguration',
      ISTIO_INJECTOR_CONFIGURATION,
      '-o',
      'json',
    ]);
    const injector = JSON.parse(stdout) as {
      webhooks: { name: string; clientConfig: { url?: string }; namespaceSelector?: unknown }[];
    };
    const byNamespace = injector.webhooks.find((w) => w.name === ISTIO_NAMESPACE_INJECTOR);
    expect(byNamespace?.clientConfig.url).toBe(`${istio?.baseUrl}/inject`);
    expect(byNamespace?.namespaceSelector).toEqual({
      matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }],
    });
    const validators = await kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name']);
    expect(validators.stdout).toContain(
      `validatingwebhookconfiguration.admissionregistration.k8s.io/${ISTIO_DEFAULT_VALIDATOR}`,
    );
    expect(validators.stdout).toContain('validatingwebhookconfiguration.admissionregistration.k8s.io/egress-guard');
  });
});

describe("Istio's sidecar injector after egress-guard (pods from kubectl create deployment)", () => {
  it('in a namespace labelled for both, the istio-proxy env carries DNS capture and auto-allocation (agent mode)', async () => {
    await recorded('namespace labelled egress-guard.io/dns-capture=enabled and istio-injection=enabled', [
      'create',
      'deployment',
      'web',
      '--image=registry.example.com/web:1',
      '-n',
      MESH,
    ]);
    const [pod] = await podsOf(MESH, 'web');
    if (!pod) throw new Error('no pod');
    // Istio's injector ran (its status annotation) and read the annotation our webhook had added before it.
    expect(pod.metadata.annotations?.['sidecar.istio.io/status']).toContain('istio-proxy');
    expect(pod.metadata.annotations?.['proxy.istio.io/config']).toContain('ISTIO_META_DNS_CAPTURE');
    expect(dnsEnv(pod)).toEqual({ ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' });
    await recorded('the sidecar env Istio rendered', envQuery(MESH, 'web'));
  });

  it('an owner\'s ISTIO_META_DNS_CAPTURE "false" in the pod template stays "false" in the sidecar', async () => {
    const owner = 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "false"\n';
    await recorded(
      'owner set ISTIO_META_DNS_CAPTURE: "false" in the template',
      ['apply', '-f', '-'],
      deployment('batch', MESH, { 'proxy.istio.io/config': owner }),
    );
    const [pod] = await podsOf(MESH, 'batch');
    if (!pod) throw new Error('no pod');
    expect(sidecar(pod)).toBeDefined();
    expect(dnsEnv(pod).ISTIO_META_DNS_CAPTURE).toBe('false');
    await recorded('the owner\'s "false" in the sidecar env', envQuery(MESH, 'batch'));
  });

  it('without our namespace label, the sidecar has no DNS capture', async () => {
    await recorded('namespace labelled istio-injection=enabled only', [
      'create',
      'deployment',
      'web',
      '--image=registry.example.com/web:1',
      '-n',
      ISTIO_ONLY,
    ]);
    const [pod] = await podsOf(ISTIO_ONLY, 'web');
    if (!pod) throw new Error('no pod');
    expect(sidecar(pod)).toBeDefined();
    expect(pod.metadata.annotations?.['proxy.istio.io/config']).toBeUndefined();
    expect(dnsEnv(pod)).toEqual({});
    await recorded('no DNS capture in the sidecar env', envQuery(ISTIO_ONLY, 'web'));
  });
});

describe('wildcard + resolution DNS: egress-guard and istiod agree', () => {
  // The API server calls validating webhooks in parallel and reports one denial; both are registered, so a denial
  // names either. Each webhook's own verdict is shown by dry runs below, the other one's configuration removed.
  it('with an endpoint: created with both webhooks registered', async () => {
    const r = await recorded(
      '*.httpbin.org, resolution DNS, endpoint httpbin.org',
      ['apply', '-f', '-'],
      wildcardDnsEntry('httpbin-endpoints', true),
    );
    expect(r.stderr).not.toContain('denied the request');
    expect({ code: r.code, stdout: r.stdout.trim() }).toEqual({
      code: 0,
      stdout: 'serviceentry.networking.istio.io/httpbin-endpoints created',
    });
  });

  it('without endpoints: denied with both webhooks registered', async () => {
    const r = await recorded(
      '*.httpbin.org, resolution DNS, no endpoints',
      ['apply', '-f', '-'],
      wildcardDnsEntry('httpbin', false),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${deniedBy(ISTIO_VALIDATING_WEBHOOK)}|${deniedBy(VALIDATING_WEBHOOK)}`));
    const get = await kubectl(
      ['get', 'serviceentries.networking.istio.io', 'httpbin', '-n', EXTERNAL],
      undefined,
      true,
    );
    expect(get.stderr).toContain('NotFound');
  });

  it("egress-guard's verdicts alone (istiod's configurations removed): allowed with an endpoint, denied without", async () => {
    await kubectl([
      'delete',
      'validatingwebhookconfiguration',
      ISTIO_DEFAULT_VALIDATOR,
      'istio-validator-istio-system',
    ]);
    try {
      await until('istiod validator gone', async () => {
        const r = await kubectl(['create', '--dry-run=server', '-f', '-'], istiodOnlyProbe(), true);
        return r.code === 0 ? true : undefined;
      });
      const args = ['create', '--dry-run=server', '-f', '-'];
      const allowed = await recorded(
        'egress-guard alone, with an endpoint',
        args,
        wildcardDnsEntry('eg-endpoints', true),
      );
      expect({ code: allowed.code, denied: allowed.stderr.includes('denied') }).toEqual({ code: 0, denied: false });
      const denied = await recorded('egress-guard alone, no endpoints', args, wildcardDnsEntry('eg', false));
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain(deniedBy(VALIDATING_WEBHOOK));
      expect(denied.stderr).toContain('*.httpbin.org');
    } finally {
      await kubectl(['apply', '-f', '-'], istio?.configurations);
    }
  });

  it("istiod's verdicts alone (egress-guard's configuration removed): allowed with an endpoint, denied without", async () => {
    await kubectl(['apply', '-f', '-'], istio?.configurations); // whatever the test before left
    await kubectl(['delete', 'validatingwebhookconfiguration', 'egress-guard']);
    await until('only istiod validating', async () => {
      for (let i = 0; i < 3; i++) if (await calledEgressGuard()) return undefined;
      const probe = await kubectl(['create', '--dry-run=server', '-f', '-'], istiodOnlyProbe(), true);
      return probe.stderr.includes(deniedBy(ISTIO_VALIDATING_WEBHOOK)) ? true : undefined;
    });
    const args = ['create', '--dry-run=server', '-f', '-'];
    const allowed = await recorded('istiod alone, with an endpoint', args, wildcardDnsEntry('istiod-endpoints', true));
    expect({ code: allowed.code, denied: allowed.stderr.includes('denied') }).toEqual({ code: 0, denied: false });
    const denied = await recorded('istiod alone, no endpoints', args, wildcardDnsEntry('istiod', false));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(deniedBy(ISTIO_VALIDATING_WEBHOOK));
    expect(denied.stderr).toContain('hosts must be FQDN');
  });
});

describe('AUTO_ALLOCATE_MODE=controller (istiod allocates addresses)', () => {
  it('the sidecar gets DNS capture and no agent auto-allocation', async () => {
    if (!guardCertificates) throw new Error('no certificates (see beforeAll)');
    await guard?.dispose();
    guard = await startEgressGuard({
      kubeconfigPath: k().kubeconfigPath,
      certificates: guardCertificates,
      logFile: join(k().logDir, 'egress-guard-controller-mode.log'),
      env: { AUTO_ALLOCATE_MODE: 'controller' },
    });
    await kubectl(['apply', '-f', '-'], renderWebhooks(guard.baseUrl, readFileSync(guardCertificates.caCert, 'utf8')));
    await waitUntilEffective(k(), { serviceEntries: EXTERNAL, optedInPods: MESH });
    await recorded('egress-guard in controller mode', [
      'create',
      'deployment',
      'api',
      '--image=registry.example.com/api:1',
      '-n',
      MESH,
    ]);
    const [pod] = await podsOf(MESH, 'api');
    if (!pod) throw new Error('no pod');
    expect(sidecar(pod)).toBeDefined();
    expect(dnsEnv(pod)).toEqual({ ISTIO_META_DNS_CAPTURE: 'true' });
    await recorded('DNS capture only', envQuery(MESH, 'api'));
  });
});
