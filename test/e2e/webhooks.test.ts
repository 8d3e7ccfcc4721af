// egress-guard behind a real kube-apiserver: the production entry point (node dist/src/main.js) with
// certificates from the certs script, the webhook configurations of deploy/base/webhooks.yaml pointed at it,
// and kubectl doing what users do. An admission webhook is only proven when the API server calls it.
//
// Run: npm run build && node --experimental-vm-modules node_modules/jest/bin/jest.js \
//        --config test/e2e/jest.config.js --runInBand test/e2e/webhooks.test.ts
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ossServiceEntry, replicaSetPod, tcpServiceEntry } from '../fixtures/reviews.js';
import { installIstioCrds, startCluster, suiteCluster, type Cluster, type KubectlResult } from './cluster.js';
import {
  DURATION_HISTOGRAM,
  apiserverRequest,
  burst,
  closeApiserverConnections,
  counterBy,
  formatWebhookLatency,
  histogramFor,
  histogramQuantile,
  readApiserverMetrics,
} from './support/apiserver-metrics.js';
import {
  makeCertificates,
  startEgressGuard,
  type CertificateFiles,
  type EgressGuard,
  type LogLine,
} from './support/egress-guard.js';
import {
  MUTATING_WEBHOOK,
  VALIDATING_WEBHOOK,
  clientConfigs,
  renderWebhooks,
  waitUntilEffective,
} from './support/webhooks.js';

const OPTED_IN = 'shop'; // labelled egress-guard.io/dns-capture=enabled
const PLAIN = 'plain'; // no label: the mutating webhook's namespaceSelector does not match
const EXTERNAL = 'external'; // ServiceEntries
const PROXY_CONFIG = 'proxy.istio.io/config';
const DENIED = `admission webhook "${VALIDATING_WEBHOOK}" denied the request: `;
/** Put into annotation values; must never show up in egress-guard's log (no object bodies there). */
const MARKER = `e2e-body-marker-${randomBytes(6).toString('hex')}`;

interface PodJson {
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; labels?: Record<string, string> };
}

let cluster: Cluster | undefined;
let guard: EgressGuard | undefined;
let certificates: CertificateFiles;
let renderedWebhooks = '';

const { k, kubectl } = suiteCluster(() => cluster);

/** A pod as a team would write it (named, no owner), based on the ReplicaSet fixture. */
function namedPod(
  name: string,
  namespace: string,
  options: { annotations?: Record<string, string>; labels?: Record<string, string> } = {},
) {
  const pod = replicaSetPod({
    annotations: options.annotations ?? null,
    ...(options.labels ? { labels: options.labels } : {}),
  });
  const metadata = pod.metadata as Record<string, unknown>;
  delete metadata.generateName;
  delete metadata.ownerReferences;
  metadata.name = name;
  metadata.namespace = namespace;
  return pod;
}

async function createPod(pod: unknown): Promise<string> {
  const { stdout } = await kubectl(['create', '-f', '-', '-o', 'name'], pod);
  return stdout.trim().replace(/^pod\//, '');
}

async function getPod(namespace: string, name: string): Promise<PodJson> {
  const { stdout } = await kubectl(['get', 'pod', name, '-n', namespace, '-o', 'json']);
  return JSON.parse(stdout) as PodJson;
}

function proxyConfigOf(
  pod: PodJson,
): { text: string; parsed: { proxyMetadata?: Record<string, unknown>; [key: string]: unknown } } | undefined {
  const text = pod.metadata.annotations?.[PROXY_CONFIG];
  if (text === undefined) return undefined;
  return { text, parsed: parse(text) as { proxyMetadata?: Record<string, unknown> } };
}

/** The ReplicaSet fixture pod in `namespace`, with a distinct generateName per burst index. */
function replicaSetPodIn(namespace: string, i: number) {
  const pod = replicaSetPod();
  Object.assign(pod.metadata as Record<string, unknown>, { namespace, generateName: `burst-${i}-` });
  return pod;
}

/** A ServiceEntry manifest for kubectl (no uid/generation: the API server sets those). */
function serviceEntry(base: { metadata: Record<string, unknown>; [key: string]: unknown }, apiVersion?: string) {
  const { uid: _uid, generation: _generation, ...metadata } = base.metadata;
  return { ...base, ...(apiVersion ? { apiVersion } : {}), metadata };
}

function warningLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('Warning: '));
}

async function waitForLogLines(predicate: (line: LogLine) => boolean, count: number, what: string): Promise<LogLine[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = (guard?.logLines() ?? []).filter(predicate);
    if (lines.length >= count) return lines;
    if (Date.now() > deadline)
      throw new Error(`expected ${count} log line(s) for ${what} in ${guard?.logFile}, found ${lines.length}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Printed at the end, and copied into the report. */
const transcript: string[] = [];
function record(title: string, args: string[], r: KubectlResult): void {
  transcript.push(`$ kubectl ${args.join(' ')}   # ${title}\n${r.stderr}${r.stdout}[exit ${r.code}]`);
}

beforeAll(async () => {
  cluster = await startCluster();
  await installIstioCrds(cluster);
  await kubectl(['apply', '-f', '-'], {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: OPTED_IN, labels: { 'egress-guard.io/dns-capture': 'enabled' } },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PLAIN } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: EXTERNAL } },
    ],
  });
  certificates = await makeCertificates(join(cluster.dir, 'egress-guard-certs'));
  guard = await startEgressGuard({
    kubeconfigPath: cluster.kubeconfigPath,
    certificates,
    logFile: join(cluster.logDir, 'egress-guard.log'),
  });
  renderedWebhooks = renderWebhooks(guard.baseUrl, readFileSync(certificates.caCert, 'utf8'));
  await kubectl(['apply', '-f', '-'], renderedWebhooks);
  await waitUntilEffective(cluster, { serviceEntries: EXTERNAL, optedInPods: OPTED_IN });
});

afterAll(async () => {
  try {
    if (cluster) {
      const samples = await readApiserverMetrics(cluster).catch(() => undefined);
      if (samples) console.log(formatWebhookLatency(samples, [MUTATING_WEBHOOK, VALIDATING_WEBHOOK]));
      if (transcript.length > 0)
        console.log(`==================== kubectl transcript ====================\n${transcript.join('\n\n')}`);
      console.log(`egress-guard log: ${guard?.logFile ?? '(not started)'}; cluster logs: ${cluster.logDir}`);
    }
  } finally {
    try {
      closeApiserverConnections();
      await guard?.dispose();
    } finally {
      await cluster?.stop();
    }
  }
});

describe('the webhook configurations the suite applies', () => {
  it('are deploy/base/webhooks.yaml with clientConfig.url on 127.0.0.1 and the certs script CA', () => {
    const rendered = clientConfigs(renderedWebhooks);
    const fromScript = clientConfigs(readFileSync(certificates.webhooks, 'utf8'));
    expect([...rendered.keys()].sort()).toEqual([MUTATING_WEBHOOK, VALIDATING_WEBHOOK]);
    expect(rendered.get(MUTATING_WEBHOOK)?.url).toBe(`${guard?.baseUrl}/mutate/pods`);
    expect(rendered.get(VALIDATING_WEBHOOK)?.url).toBe(`${guard?.baseUrl}/validate/serviceentries`);
    for (const [name, config] of rendered) {
      expect(config.service).toBeUndefined();
      // The caBundle `npm run certs` wrote for the in-cluster route trusts the same CA.
      expect({ name, caBundle: config.caBundle }).toEqual({ name, caBundle: fromScript.get(name)?.caBundle });
    }
  });
});

describe(`mutating webhook ${MUTATING_WEBHOOK} (pods)`, () => {
  it('adds ISTIO_META_DNS_CAPTURE and ISTIO_META_DNS_AUTO_ALLOCATE as strings to a pod in an opted-in namespace', async () => {
    const name = await createPod(namedPod('web-1', OPTED_IN));
    const config = proxyConfigOf(await getPod(OPTED_IN, name));
    expect(config).toBeDefined();
    expect(config?.parsed.proxyMetadata).toEqual({
      ISTIO_META_DNS_CAPTURE: 'true',
      ISTIO_META_DNS_AUTO_ALLOCATE: 'true',
    });
  });

  it('leaves a pod in a namespace without the opt-in label alone', async () => {
    const name = await createPod(namedPod('web-1', PLAIN));
    const pod = await getPod(PLAIN, name);
    expect({ namespace: PLAIN, annotation: pod.metadata.annotations?.[PROXY_CONFIG] }).toEqual({
      namespace: PLAIN,
      annotation: undefined,
    });
  });

  it('leaves a pod labelled egress-guard.io/dns-capture=disabled alone (objectSelector)', async () => {
    const name = await createPod(
      namedPod('batch-1', OPTED_IN, { labels: { 'egress-guard.io/dns-capture': 'disabled' } }),
    );
    const pod = await getPod(OPTED_IN, name);
    expect(pod.metadata.labels?.['egress-guard.io/dns-capture']).toBe('disabled');
    expect({ optedOut: name, annotation: pod.metadata.annotations?.[PROXY_CONFIG] }).toEqual({
      optedOut: name,
      annotation: undefined,
    });
  });

  it('merges into an existing proxy.istio.io/config: other fields, other proxyMetadata keys and the comment stay', async () => {
    const existing = [
      '# tuned for the payments team, see PAY-1432',
      'concurrency: 2',
      'holdApplicationUntilProxyStarts: true',
      'proxyMetadata:',
      '  ISTIO_META_HTTP10: "1"',
      'terminationDrainDuration: 30s',
      '',
    ].join('\n');
    const name = await createPod(
      namedPod('payments-1', OPTED_IN, { annotations: { [PROXY_CONFIG]: existing, 'example.com/trace': MARKER } }),
    );
    const config = proxyConfigOf(await getPod(OPTED_IN, name));
    expect(config?.text).toContain('# tuned for the payments team, see PAY-1432');
    expect(config?.parsed).toEqual({
      concurrency: 2,
      holdApplicationUntilProxyStarts: true,
      terminationDrainDuration: '30s',
      proxyMetadata: { ISTIO_META_HTTP10: '1', ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' },
    });
  });

  it('mutates a pod created with generateName (as a ReplicaSet creates them)', async () => {
    const pod = replicaSetPod();
    (pod.metadata as Record<string, unknown>).namespace = OPTED_IN;
    const name = await createPod(pod);
    expect(name).toMatch(/^web-7d4b9c6f5-[a-z0-9]{5}$/);
    const created = await getPod(OPTED_IN, name);
    expect(proxyConfigOf(created)?.parsed.proxyMetadata).toEqual({
      ISTIO_META_DNS_CAPTURE: 'true',
      ISTIO_META_DNS_AUTO_ALLOCATE: 'true',
    });
    // The fixture's own annotation is still there.
    expect(created.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe('2026-11-20T10:00:00Z');
  });

  it('shows the mutation in kubectl create --dry-run=server, and stores nothing', async () => {
    const r = await kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], namedPod('dry-1', OPTED_IN));
    const pod = JSON.parse(r.stdout) as PodJson;
    expect(proxyConfigOf(pod)?.parsed.proxyMetadata).toEqual({
      ISTIO_META_DNS_CAPTURE: 'true',
      ISTIO_META_DNS_AUTO_ALLOCATE: 'true',
    });
    const get = await kubectl(['get', 'pod', 'dry-1', '-n', OPTED_IN], undefined, true);
    expect(get.code).not.toBe(0);
    expect(get.stderr).toContain('NotFound');
  });
});

describe(`validating webhook ${VALIDATING_WEBHOOK} (ServiceEntries)`, () => {
  const cases = ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'].flatMap(
    (apiVersion) => [
      { apiVersion, dryRun: false },
      { apiVersion, dryRun: true },
    ],
  );

  it.each(cases)(
    'denies a wildcard host with resolution DNS: kubectl apply of $apiVersion (dry-run=server: $dryRun)',
    async ({ apiVersion, dryRun }) => {
      const args = ['apply', ...(dryRun ? ['--dry-run=server'] : []), '-f', '-'];
      const r = await kubectl(args, serviceEntry(ossServiceEntry('DNS'), apiVersion), true);
      if (apiVersion.endsWith('/v1') && !dryRun) record('wildcard + DNS, denied', args, r);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(DENIED);
      const explanation = r.stderr.slice(r.stderr.indexOf(DENIED) + DENIED.length);
      expect(explanation).toMatch(/^ServiceEntry external\/oss is rejected: /);
      expect(explanation).toContain('spec.hosts[1] "*.oss-cn-shanghai.aliyuncs.com"');
      expect(explanation).toContain('resolution DNS without endpoints');
      expect(explanation).toContain("istiod's validation rejects this too");
      expect(explanation).toContain('Fix: move the wildcards to an entry with resolution DYNAMIC_DNS or NONE.');
      const get = await kubectl(['get', 'serviceentries.networking.istio.io', 'oss', '-n', EXTERNAL], undefined, true);
      expect(get.stderr).toContain('NotFound');
    },
  );

  // istiod's ValidateServiceEntry asks for FQDN hosts under DNS only when there are no endpoints: with one, the
  // endpoint's name is resolved and istiod accepts the entry, so egress-guard must too.
  it('admits a wildcard host with resolution DNS and an endpoint', async () => {
    const base = ossServiceEntry('DNS', ['*.oss-cn-shanghai.aliyuncs.com']);
    const withEndpoint = serviceEntry({
      ...base,
      metadata: { ...base.metadata, name: 'oss-via-endpoint' },
      spec: { ...base.spec, endpoints: [{ address: 'oss-cn-shanghai.aliyuncs.com' }] },
    });
    const args = ['apply', '-f', '-'];
    const r = await kubectl(args, withEndpoint, true);
    record('wildcard + DNS with an endpoint: created', args, r);
    // The fixture's HTTP port forwarded to 443 still earns its own warning (http-to-tls-port); nothing else.
    expect({ code: r.code, warnings: warningLines(r.stderr) }).toEqual({
      code: 0,
      warnings: [
        'Warning: *.oss-cn-shanghai.aliyuncs.com:80 sends plain HTTP to port 443; no DestinationRule sets tls.mode SIMPLE',
      ],
    });
    expect(r.stdout.trim()).toBe('serviceentry.networking.istio.io/oss-via-endpoint created');
  });

  it('admits a ServiceEntry with undeclared expected ports, and kubectl prints a Warning naming the host', async () => {
    const args = ['apply', '-f', '-'];
    const r = await kubectl(args, serviceEntry(tcpServiceEntry()), true);
    record('example.com with only TCP 9444, resolution DNS: created with a warning', args, r);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('Warning: ') });
    expect(r.stdout.trim()).toBe('serviceentry.networking.istio.io/external-auto created');
    const warnings = warningLines(r.stderr);
    expect(warnings.some((line) => line.includes('example.com') && line.includes('80,443'))).toBe(true);
    for (const line of warnings) expect({ line, length: line.length < 120 }).toEqual({ line, length: true });
    const get = await kubectl([
      'get',
      'serviceentries.networking.istio.io',
      'external-auto',
      '-n',
      EXTERNAL,
      '-o',
      'jsonpath={.spec.ports[*].number}',
    ]);
    expect(get.stdout).toBe('9444');
  });

  // Needs the cluster-wide index (KUBECONFIG -> informer) wired into the production entry point: without it
  // each ServiceEntry is checked on its own and the first one is invisible to the second.
  it('warns that example.com is also declared by external/external-auto (duplicate-host, needs the cluster-wide index)', async () => {
    const second = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'example-tls', namespace: EXTERNAL },
      spec: {
        hosts: ['example.com'],
        location: 'MESH_EXTERNAL',
        resolution: 'DNS',
        ports: [{ name: 'tls', number: 443, protocol: 'TLS' }],
      },
    };
    // The index is eventually consistent: give the informer a moment to see external-auto (created above).
    const deadline = Date.now() + 10_000;
    let dry: KubectlResult;
    do {
      dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], second, true);
      if (dry.stderr.includes('also declared by')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    } while (Date.now() < deadline);
    const args = ['apply', '-f', '-'];
    const r = await kubectl(args, second, true);
    record('second ServiceEntry for example.com: duplicate-host warning', args, r);
    expect(r.code).toBe(0);
    const warnings = warningLines(r.stderr);
    expect(warnings).toContainEqual(expect.stringMatching(/example\.com is also declared by external\/external-auto/));
    for (const line of warnings) expect({ line, length: line.length < 120 }).toEqual({ line, length: true });
  });

  it('admits a correct ServiceEntry (wildcard with NONE, concrete host with 80 and 443) without warnings', async () => {
    const r = await kubectl(
      ['apply', '-f', '-'],
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'oss-fixed', namespace: EXTERNAL, annotations: { 'example.com/trace': MARKER } },
        spec: {
          hosts: ['payments.example.org'],
          location: 'MESH_EXTERNAL',
          resolution: 'DNS',
          ports: [
            { name: 'http', number: 80, protocol: 'HTTP' },
            { name: 'https', number: 443, protocol: 'TLS' },
          ],
        },
      },
      true,
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const wildcard = await kubectl(
      ['apply', '-f', '-'],
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'oss-wildcard', namespace: EXTERNAL },
        spec: {
          hosts: ['*.oss-cn-shanghai.aliyuncs.com'],
          location: 'MESH_EXTERNAL',
          resolution: 'NONE',
          ports: [{ name: 'tls', number: 443, protocol: 'TLS' }],
        },
      },
      true,
    );
    expect({ code: wildcard.code, warnings: warningLines(wildcard.stderr) }).toEqual({ code: 0, warnings: [] });
  });
});

describe('egress-guard down: the failure policies', () => {
  it('pods are created unchanged (Ignore), ServiceEntries are refused (Fail), and a restart restores both', async () => {
    const running = guard;
    if (!running) throw new Error('egress-guard did not start');
    const exit = await running.stop('SIGTERM');
    expect({ exitAfterSigterm: exit }).toEqual({ exitAfterSigterm: 0 });

    const name = await createPod(namedPod('while-down-1', OPTED_IN));
    const pod = await getPod(OPTED_IN, name);
    expect({ podCreatedWhileDown: name, annotation: pod.metadata.annotations?.[PROXY_CONFIG] }).toEqual({
      podCreatedWhileDown: name,
      annotation: undefined,
    });

    const fine = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'while-down', namespace: EXTERNAL },
      spec: {
        hosts: ['api.while-down.example.com'],
        resolution: 'DNS',
        ports: [
          { name: 'https', number: 443, protocol: 'TLS' },
          { name: 'http', number: 80, protocol: 'HTTP' },
        ],
      },
    };
    const args = ['apply', '-f', '-'];
    const refused = await kubectl(args, fine, true);
    record('egress-guard stopped: a valid ServiceEntry fails closed', args, refused);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`failed calling webhook "${VALIDATING_WEBHOOK}"`);

    await running.start();
    await waitUntilEffective(k(), { serviceEntries: EXTERNAL, optedInPods: OPTED_IN });
    const again = await kubectl(args, fine, true);
    expect({ code: again.code, stdout: again.stdout.trim() }).toEqual({
      code: 0,
      stdout: 'serviceentry.networking.istio.io/while-down created',
    });
    const after = await createPod(namedPod('after-restart-1', OPTED_IN));
    expect(proxyConfigOf(await getPod(OPTED_IN, after))?.parsed.proxyMetadata).toEqual({
      ISTIO_META_DNS_CAPTURE: 'true',
      ISTIO_META_DNS_AUTO_ALLOCATE: 'true',
    });
  });

  it('a frozen egress-guard (SIGSTOP): the API server gives up after timeoutSeconds, with the same failure policies', async () => {
    const pid = guard?.pid;
    if (pid === undefined) throw new Error('egress-guard is not running');
    // Accepts connections (the kernel does) but never answers: what a starved or wedged process looks like.
    process.kill(pid, 'SIGSTOP');
    try {
      const podStarted = Date.now();
      const name = await createPod(namedPod('while-frozen-1', OPTED_IN));
      const podSeconds = (Date.now() - podStarted) / 1000;
      expect({ annotation: (await getPod(OPTED_IN, name)).metadata.annotations?.[PROXY_CONFIG] }).toEqual({
        annotation: undefined,
      });
      // The webhook configuration's timeoutSeconds is 5: the pod waited that long, then was admitted unchanged.
      expect(podSeconds).toBeGreaterThanOrEqual(4.5);

      const frozen = {
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'while-frozen', namespace: EXTERNAL },
        spec: {
          hosts: ['api.while-frozen.example.com'],
          resolution: 'DNS',
          ports: [
            { name: 'https', number: 443, protocol: 'TLS' },
            { name: 'http', number: 80, protocol: 'HTTP' },
          ],
        },
      };
      const args = ['apply', '-f', '-'];
      const refused = await kubectl(args, frozen, true);
      record('egress-guard frozen: a valid ServiceEntry fails closed after the timeout', args, refused);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`failed calling webhook "${VALIDATING_WEBHOOK}"`);
      expect(refused.stderr).toMatch(/deadline exceeded|timeout/i);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitUntilEffective(k(), { serviceEntries: EXTERNAL, optedInPods: OPTED_IN });
  });
});

describe("egress-guard's log", () => {
  it('has one line per review with uid and decision, and no object bodies', async () => {
    const name = await createPod(namedPod('logged-1', OPTED_IN, { annotations: { 'example.com/trace': MARKER } }));
    const seName = 'logged-se';
    await kubectl(['apply', '-f', '-'], {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: seName, namespace: EXTERNAL, annotations: { 'example.com/trace': MARKER } },
      spec: {
        hosts: ['logged.example.net'],
        resolution: 'DNS',
        ports: [
          { name: 'http', number: 80, protocol: 'HTTP' },
          { name: 'https', number: 443, protocol: 'TLS' },
        ],
      },
    });

    const isReview = (line: LogLine) => line.msg === 'review';
    const podLines = await waitForLogLines(
      (l) => isReview(l) && l.name === name && l.namespace === OPTED_IN,
      1,
      `pod ${OPTED_IN}/${name}`,
    );
    const seLines = await waitForLogLines(
      (l) => isReview(l) && l.name === seName && l.namespace === EXTERNAL,
      1,
      `ServiceEntry ${EXTERNAL}/${seName}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // a duplicate line would have arrived by now
    expect(guard?.logLines().filter((l) => isReview(l) && l.name === name)).toHaveLength(1);
    expect(guard?.logLines().filter((l) => isReview(l) && l.name === seName)).toHaveLength(1);
    expect(podLines[0]).toMatchObject({
      webhook: 'mutate-pods',
      operation: 'CREATE',
      dryRun: false,
      decision: 'patched',
    });
    expect(seLines[0]).toMatchObject({
      webhook: 'validate-serviceentries',
      operation: 'CREATE',
      dryRun: false,
      decision: 'allowed',
    });

    // As many review lines as the API server got answers from egress-guard (codes 200 and 403; not the calls
    // that failed while it was stopped). The frozen process answered its two calls after SIGCONT, when the API
    // server had already given up on them: those lines are egress-guard's, but no answer reached anyone.
    const answeredTooLate = (line: LogLine) => typeof line.name === 'string' && line.name.startsWith('while-frozen');
    const samples = await readApiserverMetrics(k());
    const answered = [MUTATING_WEBHOOK, VALIDATING_WEBHOOK]
      .flatMap((webhook) =>
        Object.entries(counterBy(samples, 'apiserver_admission_webhook_request_total', webhook, 'code')),
      )
      .filter(([code]) => Number(code) < 500)
      .reduce((sum, [, count]) => sum + count, 0);
    expect(answered).toBeGreaterThan(10);
    const delivered = (line: LogLine) => isReview(line) && !answeredTooLate(line);
    await waitForLogLines(delivered, answered, 'every answered webhook call');
    const reviews = guard?.logLines().filter(delivered) ?? [];
    expect({ reviewLines: reviews.length }).toEqual({ reviewLines: answered });

    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const line of reviews) {
      expect({ uid: uuid.test(String(line.uid)), decision: typeof line.decision }).toEqual({
        uid: true,
        decision: 'string',
      });
      expect(['patched', 'allowed', 'warned', 'denied', 'skipped']).toContain(line.decision);
    }
    // Every review the API server sent has its own uid: no review is logged twice.
    expect(new Set(reviews.map((l) => l.uid)).size).toBe(reviews.length);

    const raw = readFileSync(guard?.logFile ?? '', 'utf8');
    expect({ markerInLog: raw.includes(MARKER) }).toEqual({ markerInLog: false });
    expect({ containerImageInLog: raw.includes('registry.example.com/shop/web') }).toEqual({
      containerImageInLog: false,
    });
    expect({ proxyConfigTextInLog: raw.includes('tuned for the payments team') }).toEqual({
      proxyConfigTextInLog: false,
    });
  });
});

describe("the API server's view of the webhooks", () => {
  const BURST = 100;
  it(`answers a burst of ${BURST} dry-run pods and ${BURST} dry-run ServiceEntries (4 at a time, REST API) correctly`, async () => {
    const pods = await burst(BURST, 4, (i) =>
      apiserverRequest(k(), 'POST', `/api/v1/namespaces/${OPTED_IN}/pods?dryRun=All`, replicaSetPodIn(OPTED_IN, i)),
    );
    const patched = pods.filter(
      (r) => r.status === 201 && (JSON.parse(r.body) as PodJson).metadata.annotations?.[PROXY_CONFIG] !== undefined,
    );
    expect({ pods: BURST, patched: patched.length, statuses: [...new Set(pods.map((r) => r.status))] }).toEqual({
      pods: BURST,
      patched: BURST,
      statuses: [201],
    });

    const entries = await burst(BURST, 4, (i) =>
      apiserverRequest(k(), 'POST', `/apis/networking.istio.io/v1/namespaces/${EXTERNAL}/serviceentries?dryRun=All`, {
        ...serviceEntry(ossServiceEntry(i % 2 === 0 ? 'DNS' : 'NONE', ['*.oss-cn-shanghai.aliyuncs.com'])),
        metadata: { name: `burst-${i}`, namespace: EXTERNAL },
      }),
    );
    // Even: wildcard + DNS, denied (403 with our message); odd: wildcard + NONE, admitted.
    const wrong = entries.filter((r, i) =>
      i % 2 === 0
        ? !(r.status === 403 && r.body.includes('wildcard hosts cannot use resolution DNS'))
        : r.status !== 201,
    );
    expect(wrong.map((r) => `${r.status} ${r.body.slice(0, 300)}`)).toEqual([]);
  });

  it(`records ${DURATION_HISTOGRAM} for both webhooks (p50/p99 printed after the run)`, async () => {
    const samples = await readApiserverMetrics(k());
    for (const webhook of [MUTATING_WEBHOOK, VALIDATING_WEBHOOK]) {
      const h = histogramFor(samples, DURATION_HISTOGRAM, webhook);
      expect({ webhook, observed: h.count > 0 }).toEqual({ webhook, observed: true });
      expect(histogramQuantile(0.5, h.buckets)).toBeGreaterThan(0);
    }
  });

  it('estimates quantiles like PromQL histogram_quantile', () => {
    // 10 observations <= 0.005, 30 more <= 0.025, 0 more <= 0.1, 0 in +Inf.
    const buckets = [
      { le: 0.005, count: 10 },
      { le: 0.025, count: 40 },
      { le: 0.1, count: 40 },
      { le: Infinity, count: 40 },
    ];
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.005, 10); // rank 10: top of the first bucket
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.005 + 0.02 * (10 / 30), 10); // rank 20
    expect(histogramQuantile(0.1, buckets)).toBeCloseTo(0.002, 10); // rank 4 of 10 in [0, 0.005]
    expect(
      histogramQuantile(0.99, [
        { le: 0.1, count: 1 },
        { le: Infinity, count: 2 },
      ]),
    ).toBe(0.1); // in +Inf: highest finite bound
    expect(
      histogramQuantile(0.5, [
        { le: 0.1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ).toBeNaN();
  });
});
