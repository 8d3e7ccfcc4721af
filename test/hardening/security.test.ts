// What the server gives away and what it accepts: TLS versions, header and body limits, and no object
// contents or stack traces in answers or logs (the object may be a pod spec with credentials in env values).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect as tlsConnect } from 'node:tls';
import type { Webhook } from '../../src/admission/webhook.js';
import { generateCertificates } from '../../src/certs/generate.js';
import { loadConfig } from '../../src/config.js';
import { buildAdmissionApp } from '../../src/http/admission-app.js';
import { createMetrics } from '../../src/metrics.js';
import { buildWebhooks, startServer, type RunningServer } from '../../src/server.js';
import { ossServiceEntry, replicaSetPod, review, serviceEntryReview } from '../fixtures/reviews.js';
import { postJson, type HttpsReply } from '../support/https-client.js';
import { captureLog } from '../support/log-capture.js';

const MARKER = 'Zq9MARKERxK2';
/** A stack frame, a source path or an error class name: none belongs in an answer. */
const STACK = /\bat .+:\d+:\d+|\.(ts|js):\d+|node_modules|TypeError|SyntaxError|\n\s+at /;

describe('over the real HTTPS listener', () => {
  let server: RunningServer;
  let ca: string;
  beforeAll(async () => {
    const certs = await generateCertificates({
      commonName: 'egress-guard',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      days: 1,
    });
    ca = certs.caCertPem;
    server = await startServer(
      { config: loadConfig({ PORT: '0', OPS_PORT: '0', HOST: '127.0.0.1' }), logger: captureLog().logger },
      { cert: certs.certPem, key: certs.keyPem },
    );
  });
  afterAll(() => server.close());

  it.each([
    ['TLS 1.3', 'TLSv1.3'],
    ['TLS 1.2', 'TLSv1.2'],
  ] as const)('speaks %s', async (_name, version) => {
    const reply = await postJson(`${server.admissionUrl}/mutate/pods`, review(replicaSetPod()), ca, {
      minVersion: 'TLSv1.2',
      maxVersion: version,
    });
    expect(reply.status).toBe(200);
  });

  it('refuses TLS 1.1 with a protocol-version alert', async () => {
    await expect(
      postJson(`${server.admissionUrl}/mutate/pods`, review(replicaSetPod()), ca, {
        maxVersion: 'TLSv1.1',
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    ).rejects.toThrow(/alert protocol version/);
  });

  it('refuses a TLS 1.2 client that offers only CBC suites, and speaks ECDHE with AEAD', async () => {
    const cbc = ['ECDHE-ECDSA', 'ECDHE-RSA']
      .map((kx) => `${kx}-AES128-SHA256:${kx}-AES256-SHA384:${kx}-AES128-SHA`)
      .join(':');
    await expect(
      postJson(`${server.admissionUrl}/mutate/pods`, review(replicaSetPod()), ca, {
        maxVersion: 'TLSv1.2',
        ciphers: cbc,
      }),
    ).rejects.toThrow(/handshake failure|no shared cipher/);
    const suite = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect(
        {
          host: '127.0.0.1',
          port: Number(new URL(server.admissionUrl).port),
          ca,
          servername: 'localhost',
          maxVersion: 'TLSv1.2',
        },
        () => {
          resolve(socket.getCipher().name);
          socket.destroy();
        },
      );
      socket.on('error', reject);
    });
    expect(suite).toMatch(/^ECDHE-(RSA|ECDSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/);
  });

  it('refuses a TLS 1.2 client that asks to renegotiate', async () => {
    const refusal = await new Promise<string>((resolve) => {
      const socket = tlsConnect(
        {
          host: '127.0.0.1',
          port: Number(new URL(server.admissionUrl).port),
          ca,
          servername: 'localhost',
          maxVersion: 'TLSv1.2',
        },
        () => {
          socket.renegotiate({}, (error) => {
            resolve(error ? 'refused' : 'renegotiated');
            socket.destroy();
          });
        },
      );
      socket.on('error', () => resolve('refused'));
      socket.on('close', () => resolve('refused'));
    });
    expect(refusal).toBe('refused');
  });

  it('answers 431 to request headers over 16 KiB, and accepts 12 KiB', async () => {
    const tooBig = await postWithHeader(server.admissionUrl, ca, 'x'.repeat(17 * 1024));
    expect(tooBig.status).toBe(431);
    expect(JSON.parse(tooBig.body)).toMatchObject({ statusCode: 431 });
    const fine = await postWithHeader(server.admissionUrl, ca, 'x'.repeat(12 * 1024));
    expect(fine.status).toBe(200);
  });
});

describe('no object contents or stack traces in answers or logs', () => {
  /** A webhook with the sort of bug that gets shipped: it trusts the pod's shape. */
  const careless: Webhook = {
    name: 'careless',
    path: '/careless',
    handles: () => true,
    review: (request) => {
      const pod = request.object as { spec: { containers: Array<{ image: string }> } };
      return { answer: { allowed: pod.spec.containers[3]!.image.endsWith(MARKER) }, decision: 'allowed' };
    },
  };

  function build() {
    const log = captureLog('debug');
    const config = loadConfig({});
    const app = buildAdmissionApp({
      webhooks: [...buildWebhooks(config), careless],
      logger: log.logger,
      metrics: createMetrics(),
      bodyLimitBytes: 64 * 1024,
    });
    return { app, log };
  }

  /** The marker everywhere egress-guard has no reason to repeat: not the name, namespace or proxyMetadata it reports on. */
  function markedPod() {
    const pod = replicaSetPod({
      labels: { team: MARKER, [`${MARKER}.example.com/tier`]: 'web' },
      annotations: {
        'vault.hashicorp.com/secret': MARKER,
        'proxy.istio.io/config': `# ${MARKER}\ntracing:\n  sampling: 10 # ${MARKER}\n  custom_tags:\n    team: {literal: {value: "${MARKER}"}}\nproxyMetadata:\n  OTHER: "${MARKER}"\n`,
      },
    });
    const container = pod.spec.containers[0]!;
    container.image = `registry.example.com/${MARKER}:1`;
    container.env.push({ name: 'DB_PASSWORD', value: MARKER } as (typeof container.env)[number]);
    return { ...pod, spec: { ...pod.spec, nodeSelector: { pool: MARKER } } };
  }

  function marked(body: ReturnType<typeof review>) {
    return {
      ...body,
      request: { ...body.request, userInfo: { username: MARKER, groups: [MARKER] }, oldObject: { data: MARKER } },
    };
  }

  function markedServiceEntry() {
    const entry = ossServiceEntry('DNS');
    return {
      ...entry,
      metadata: { ...entry.metadata, labels: { owner: MARKER }, annotations: { note: MARKER } },
      spec: {
        ...entry.spec,
        subjectAltNames: [MARKER],
        endpoints: [{ address: `${MARKER.toLowerCase()}.example.com`, labels: { zone: MARKER } }],
      },
    };
  }

  it.each([
    ['a pod that gets patched', '/mutate/pods', () => marked(review(markedPod())), 200],
    [
      'a pod whose annotation is broken YAML',
      '/mutate/pods',
      () =>
        marked(
          review({
            ...markedPod(),
            metadata: {
              ...markedPod().metadata,
              annotations: { 'proxy.istio.io/config': `tracing: [${MARKER}\nb: {` },
            },
          }),
        ),
      200,
    ],
    [
      'a ServiceEntry that is denied',
      '/validate/serviceentries',
      () => marked(serviceEntryReview(markedServiceEntry())),
      200,
    ],
    ['a review of the wrong kind', '/validate/serviceentries', () => marked(review(markedPod())), 200],
    [
      'a review that is missing its uid',
      '/mutate/pods',
      () => ({ ...marked(review(markedPod())), request: { ...marked(review(markedPod())).request, uid: 7 } }),
      400,
    ],
    ['a review a buggy webhook fails on', '/careless', () => marked(review(markedPod())), 500],
    [
      'a review over the body limit',
      '/mutate/pods',
      () => marked(review({ ...markedPod(), padding: MARKER.repeat(10_000) })),
      413,
    ],
  ])('%s: the marker is in neither the answer nor the log', async (_name, url, body, status) => {
    const { app, log } = build();
    const res = await app.inject({
      method: 'POST',
      url,
      payload: JSON.stringify(body()),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(status);
    expect(res.body).not.toContain(MARKER);
    expect(res.body).not.toMatch(STACK);
    expect(patchWithoutProxyConfig(res.body)).not.toContain(MARKER);
    expect(log.text()).not.toContain(MARKER);
    expect(log.lines().length).toBeGreaterThan(0);
    await app.close();
  });

  it("keeps the buggy webhook's stack in the log, for whoever fixes it", async () => {
    const { app, log } = build();
    await app.inject({
      method: 'POST',
      url: '/careless',
      payload: JSON.stringify(review(markedPod(), { uid: 'uid-careless' })),
      headers: { 'content-type': 'application/json' },
    });
    const line = log.lines().find((entry) => entry.uid === 'uid-careless');
    expect(line).toMatchObject({ level: 50, err: { type: 'TypeError' } });
    expect(String((line!.err as { stack: string }).stack)).toMatch(/\n\s+at /);
    await app.close();
  });

  it('does not quote the body of a request that is not valid JSON (V8 puts a snippet in the parser message)', async () => {
    const { app, log } = build();
    const res = await app.inject({
      method: 'POST',
      url: '/mutate/pods',
      payload: `{"request": {"object": ${MARKER}}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    // V8 quotes ten characters either side of the error.
    expect(res.body + log.text()).not.toContain(MARKER.slice(0, 8));
    await app.close();
  });

  it('does not log what a failing webhook attached to its error (pino logs every enumerable property)', async () => {
    const leaky: Webhook = {
      name: 'leaky',
      path: '/leaky',
      handles: () => true,
      review: (request) => {
        // What new URL() does with bad input (error.input), and what many libraries do with context.
        new URL(String((request.object as { metadata: { labels: Record<string, string> } }).metadata.labels.team));
        return { answer: { allowed: true }, decision: 'allowed' };
      },
    };
    const log = captureLog();
    const app = buildAdmissionApp({
      webhooks: [leaky],
      logger: log.logger,
      metrics: createMetrics(),
      bodyLimitBytes: 64 * 1024,
    });
    const res = await app.inject({
      method: 'POST',
      url: '/leaky',
      payload: JSON.stringify(review(markedPod())),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(500);
    expect(log.text()).not.toContain(MARKER);
    await app.close();
  });
});

/**
 * The answer's patch, decoded, without the proxy.istio.io/config text: that one carries the owner's annotation
 * forward on purpose (comments and all), everything else in a patch should come from egress-guard.
 */
function patchWithoutProxyConfig(body: string): string {
  const patch = (JSON.parse(body) as { response?: { patch?: string } }).response?.patch;
  if (patch === undefined) return '';
  const operations = JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Array<{
    path: string;
    value?: unknown;
  }>;
  const owners = operations.map((op) =>
    op.path.endsWith('/proxy.istio.io~1config') ? { ...op, value: '(owner text)' } : op,
  );
  return JSON.stringify(owners, (key, value: unknown) => (key === 'proxy.istio.io/config' ? '(owner text)' : value));
}

function postWithHeader(baseUrl: string, ca: string, filler: string): Promise<HttpsReply> {
  // A fresh connection each: fastify's 431 destroys the socket without saying `Connection: close`.
  return postJson(`${baseUrl}/mutate/pods`, review(replicaSetPod()), ca, {
    agent: false,
    headers: { 'x-filler': filler },
  });
}
