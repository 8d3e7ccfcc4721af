import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import fastJsonPatch from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { buildAdmissionApp } from '../../src/http/admission-app.js';
import type { Webhook } from '../../src/admission/webhook.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { buildWebhooks } from '../../src/server.js';
import { ossServiceEntry, replicaSetPod, review, serviceEntryReview, tcpServiceEntry } from '../fixtures/reviews.js';
import { captureLog, type CapturedLog } from '../support/log-capture.js';

const PROXY_CONFIG = 'proxy.istio.io/config';

/** Logging at debug, where every review has its line; `level` for what an operator sees by default. */
function build(env: Record<string, string> = {}, extra: Webhook[] = [], level = 'debug') {
  const log = captureLog(level);
  const metrics = createMetrics();
  const config = loadConfig(env);
  const app = buildAdmissionApp({
    webhooks: [...buildWebhooks(config), ...extra],
    logger: log.logger,
    metrics,
    bodyLimitBytes: config.bodyLimitBytes,
  });
  return { app, log, metrics };
}

async function post(app: FastifyInstance, url: string, payload: unknown, contentType = 'application/json') {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': contentType } });
}

function decodePatch(response: { patch?: string }) {
  return JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8')) as fastJsonPatch.Operation[];
}

type PodLike = { metadata: { annotations: Record<string, string> } };

/** Applies the answer's JSONPatch the way the API server does: validating every operation against the pod. */
function applyAnswer(pod: object, response: { patch?: string }): PodLike {
  return fastJsonPatch.applyPatch(structuredClone(pod), decodePatch(response), true, false)
    .newDocument as unknown as PodLike;
}

describe('POST /mutate/pods', () => {
  let app: FastifyInstance;
  let log: CapturedLog;
  beforeAll(() => {
    ({ app, log } = build());
  });
  afterAll(() => app.close());

  it('answers a ReplicaSet pod with a JSONPatch that adds both keys as quoted strings, echoing the uid', async () => {
    const pod = replicaSetPod();
    const res = await post(app, '/mutate/pods', review(pod, { uid: 'uid-rs-1' }));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-rs-1', allowed: true, patchType: 'JSONPatch' },
    });
    const mutated = applyAnswer(pod, body.response);
    const text = mutated.metadata.annotations[PROXY_CONFIG] as string;
    expect(text).toContain('"true"');
    expect(parseYaml(text)).toEqual({
      proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' },
    });
    expect(mutated.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toBe('2026-11-20T10:00:00Z');
  });

  it('creates the annotations map when the pod has none', async () => {
    const pod = replicaSetPod({ annotations: null });
    const res = await post(app, '/mutate/pods', review(pod));
    const mutated = applyAnswer(pod, res.json().response);
    expect(Object.keys(mutated.metadata.annotations)).toEqual([PROXY_CONFIG]);
  });

  it('in controller mode adds DNS capture only', async () => {
    const { app: controllerApp } = build({ AUTO_ALLOCATE_MODE: 'controller' });
    const pod = replicaSetPod();
    const res = await post(controllerApp, '/mutate/pods', review(pod));
    const mutated = applyAnswer(pod, res.json().response);
    expect(parseYaml(mutated.metadata.annotations[PROXY_CONFIG]!)).toEqual({
      proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true' },
    });
    await controllerApp.close();
  });

  it('leaves a pod with an unparsable annotation untouched, allows it and warns with the position', async () => {
    const pod = replicaSetPod({ annotations: { [PROXY_CONFIG]: 'proxyMetadata:\n  A: "1"\n B: [' } });
    const res = await post(app, '/mutate/pods', review(pod));
    const response = res.json().response;
    expect(response.allowed).toBe(true);
    expect(response.patch).toBeUndefined();
    expect(response.warnings.join(' ')).toMatch(/line \d+/);
  });

  it('skips UPDATE and records the reason in the log line and the metric', async () => {
    const { app: fresh, log: freshLog, metrics } = build();
    const res = await post(fresh, '/mutate/pods', review(replicaSetPod(), { operation: 'UPDATE', uid: 'uid-upd' }));
    expect(res.json().response).toEqual({ uid: 'uid-upd', allowed: true });
    expect(freshLog.lines().find((line) => line.uid === 'uid-upd')).toMatchObject({
      decision: 'skipped',
      reason: 'operation',
    });
    expect(
      await metricValue(metrics, 'egress_guard_admission_reviews_total', { decision: 'skipped', reason: 'operation' }),
    ).toBe(1);
    await fresh.close();
  });

  it.each([
    ['sidecar injection off by label', { labels: { 'sidecar.istio.io/inject': 'false' } }, 'injection-disabled'],
    ['opt-out label', { labels: { 'egress-guard.io/dns-capture': 'disabled' } }, 'opted-out'],
    ['ambient pod', { labels: { 'istio.io/dataplane-mode': 'ambient' } }, 'ambient'],
  ])('skips a pod with %s', async (_name, options, reason) => {
    const uid = `uid-${reason}`;
    const res = await post(app, '/mutate/pods', review(replicaSetPod(options), { uid }));
    expect(res.json().response).toEqual({ uid, allowed: true });
    expect(log.lines().find((line) => line.uid === uid)).toMatchObject({ decision: 'skipped', reason });
  });

  it('logs one line per review with uid, kind, namespace/name, operation, decision and duration, never the object', async () => {
    const pod = replicaSetPod({ annotations: { [PROXY_CONFIG]: 'tracing:\n  sampling: 12.5 # secret-ish-marker\n' } });
    await post(app, '/mutate/pods', review(pod, { uid: 'uid-log' }));
    const lines = log.lines().filter((line) => line.uid === 'uid-log');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      webhook: 'mutate-pods',
      kind: 'v1 Pod',
      namespace: 'shop',
      name: 'web-7d4b9c6f5-*',
      operation: 'CREATE',
      decision: 'patched',
    });
    expect(typeof lines[0]!.durationMs).toBe('number');
    expect(log.text()).not.toContain('secret-ish-marker');
    expect(log.text()).not.toContain('registry.example.com');
  });
});

describe('POST /validate/serviceentries', () => {
  let app: FastifyInstance;
  let log: CapturedLog;
  beforeAll(() => {
    ({ app, log } = build());
  });
  afterAll(() => app.close());

  it.each(['v1', 'v1beta1', 'v1alpha3'])(
    'denies a wildcard host with resolution DNS (%s) as Forbidden, 403',
    async (version) => {
      const kind = { group: 'networking.istio.io', version, kind: 'ServiceEntry' };
      const res = await post(
        app,
        '/validate/serviceentries',
        serviceEntryReview(ossServiceEntry('DNS'), { kind, uid: `uid-${version}` }),
      );
      expect(res.statusCode).toBe(200);
      const response = res.json().response;
      expect(response).toMatchObject({
        uid: `uid-${version}`,
        allowed: false,
        status: { code: 403, reason: 'Forbidden' },
      });
      expect(response.status.message).toContain('external/oss');
      expect(response.status.message).toContain('spec.hosts[1]');
    },
  );

  it('allows the same ServiceEntry with resolution NONE without warnings (nothing is auto-allocated)', async () => {
    const res = await post(app, '/validate/serviceentries', serviceEntryReview(ossServiceEntry('NONE')));
    expect(res.json().response).toMatchObject({ allowed: true });
    expect(res.json().response.warnings).toBeUndefined();
  });

  it('warns about undeclared expected ports and names the host', async () => {
    const res = await post(app, '/validate/serviceentries', serviceEntryReview(tcpServiceEntry(), { uid: 'uid-warn' }));
    const response = res.json().response;
    expect(response.allowed).toBe(true);
    expect(response.warnings).toHaveLength(1);
    expect(response.warnings[0]).toContain('example.com');
    expect(response.warnings[0].length).toBeLessThan(120);
    expect(log.lines().find((line) => line.uid === 'uid-warn')).toMatchObject({
      decision: 'warned',
      rules: ['undeclared-ports'],
    });
  });

  it('denies undeclared ports when UNDECLARED_PORTS_ACTION=deny', async () => {
    const { app: strict } = build({ UNDECLARED_PORTS_ACTION: 'deny' });
    const res = await post(strict, '/validate/serviceentries', serviceEntryReview(tcpServiceEntry()));
    expect(res.json().response).toMatchObject({ allowed: false, status: { code: 403, reason: 'Forbidden' } });
    expect(res.json().response.status.message).toContain('example.com');
    await strict.close();
  });

  it('allows DELETE without looking at the object', async () => {
    const res = await post(
      app,
      '/validate/serviceentries',
      serviceEntryReview(null, { operation: 'DELETE', uid: 'uid-del' }),
    );
    expect(res.json().response).toEqual({ uid: 'uid-del', allowed: true });
  });

  it.each([
    ['hosts that is a string', { metadata: { name: 'x' }, spec: { hosts: '*.a.com', resolution: 'DNS' } }],
    ['ports that are null', { metadata: { name: 'x' }, spec: { hosts: ['a.com'], ports: null, resolution: 'DNS' } }],
    ['metadata missing', { spec: { hosts: ['*.a.com'], resolution: 'DNS' } }],
    ['spec that is a list', { metadata: { name: 'x' }, spec: [] }],
    ['object that is a number', 42],
  ])('answers %s with 200 and a decision', async (_name, object) => {
    const res = await post(app, '/validate/serviceentries', serviceEntryReview(object, { uid: 'odd' }));
    expect(res.statusCode).toBe(200);
    expect(res.json().response.uid).toBe('odd');
    expect(typeof res.json().response.allowed).toBe('boolean');
  });

  it('allows a kind it does not handle, warns about the misconfiguration and logs an error', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {},
    };
    const kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    const res = await post(app, '/validate/serviceentries', review(deployment, { kind, uid: 'uid-misrouted' }));
    const response = res.json().response;
    expect(response.allowed).toBe(true);
    expect(response.warnings[0]).toContain('apps/v1 Deployment');
    expect(log.lines().find((line) => line.uid === 'uid-misrouted')).toMatchObject({
      level: 50,
      decision: 'misrouted',
    });
  });
});

describe('the review line at the default level, info', () => {
  it('is written for answers that told the requester something, and left at debug for routine ones', async () => {
    const { app, log, metrics } = build({}, [], 'info');
    await post(app, '/mutate/pods', review(replicaSetPod(), { uid: 'uid-patched' }));
    await post(
      app,
      '/mutate/pods',
      review(replicaSetPod({ annotations: { [PROXY_CONFIG]: 'a: [' } }), { uid: 'uid-bad' }),
    );
    await post(app, '/validate/serviceentries', serviceEntryReview(ossServiceEntry('NONE'), { uid: 'uid-allowed' }));
    await post(app, '/validate/serviceentries', serviceEntryReview(tcpServiceEntry(), { uid: 'uid-warned' }));
    await post(app, '/validate/serviceentries', serviceEntryReview(ossServiceEntry('DNS'), { uid: 'uid-denied' }));
    const logged = log.lines().filter((line) => line.msg === 'review');
    expect(logged.map((line) => [line.uid, line.level, line.decision])).toEqual([
      ['uid-bad', 30, 'skipped'],
      ['uid-warned', 30, 'warned'],
      ['uid-denied', 30, 'denied'],
    ]);
    // The routine reviews are still counted.
    expect(await metricValue(metrics, 'egress_guard_admission_reviews_total', { decision: 'patched' })).toBe(1);
    expect(await metricValue(metrics, 'egress_guard_admission_reviews_total', { decision: 'allowed' })).toBe(1);
    await app.close();
  });
});

describe('bad input', () => {
  let app: FastifyInstance;
  let metrics: Metrics;
  let log: CapturedLog;
  beforeAll(() => {
    ({ app, metrics, log } = build());
  });
  afterAll(() => app.close());

  it.each([
    ['a body that is not JSON', '{"apiVersion": ', /not valid JSON/],
    ['a JSON array', '[]', /not a JSON object/],
    [
      'a review of the wrong apiVersion',
      JSON.stringify({ ...review({}), apiVersion: 'admission.k8s.io/v1beta1' }),
      /only admission.k8s.io\/v1/,
    ],
    ['a body that is not an AdmissionReview', JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }), /kind is "Pod"/],
    [
      'a review without request.uid',
      JSON.stringify({ ...review({}), request: { ...review({}).request, uid: undefined } }),
      /request.uid/,
    ],
    [
      'a review without request',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      /request is missing/,
    ],
  ])('answers %s with 400 and a JSON body that says what is wrong', async (_name, payload, message) => {
    const res = await post(app, '/validate/serviceentries', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(message);
    // Logged at warn with the same explanation, by whichever layer refused it (the JSON parser or the codec).
    const line = log.lines().at(-1);
    expect(line).toMatchObject({ level: 40 });
    expect(String(line?.problem)).toMatch(message);
  });

  it('answers a body over 6 MiB with 413', async () => {
    const pod = replicaSetPod({ annotations: { big: 'x'.repeat(6 * 1024 * 1024) } });
    const res = await post(app, '/mutate/pods', review(pod));
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('PayloadTooLarge');
  });

  it("accepts a realistic 5 MiB review (above fastify's 1 MiB default)", async () => {
    const pod = replicaSetPod({ annotations: { big: 'x'.repeat(5 * 1024 * 1024) } });
    const res = await post(app, '/mutate/pods', review(pod));
    expect(res.statusCode).toBe(200);
    expect(res.json().response.allowed).toBe(true);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/yaml'])(
    'answers content type %s with 415',
    async (type) => {
      const res = await post(app, '/mutate/pods', review(replicaSetPod()), type);
      expect(res.statusCode).toBe(415);
      expect(res.json().message).toBeTruthy();
    },
  );

  it('keeps __proto__ keys as data instead of rejecting a well-formed review', async () => {
    const body = JSON.stringify(review(replicaSetPod(), { uid: 'uid-proto' })).replace(
      '"labels":{',
      '"labels":{"__proto__":{"polluted":"yes"},',
    );
    const res = await post(app, '/mutate/pods', body);
    expect(res.statusCode).toBe(200);
    expect(res.json().response.uid).toBe('uid-proto');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers 404 with JSON for an unknown path', async () => {
    const res = await post(app, '/validate/pods', review(replicaSetPod()));
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toContain('/validate/pods');
  });

  it('keeps serving after bad input, and counts what it rejected', async () => {
    await post(app, '/mutate/pods', 'garbage');
    const res = await post(app, '/mutate/pods', review(replicaSetPod(), { uid: 'after' }));
    expect(res.json().response.uid).toBe('after');
    expect(await metricValue(metrics, 'egress_guard_rejected_requests_total', { status: '400' })).toBeGreaterThan(0);
  });
});

describe('a bug in a webhook', () => {
  it('answers 500 without details, logs the error with the uid, and keeps serving', async () => {
    const broken: Webhook = {
      name: 'broken',
      path: '/broken',
      handles: () => true,
      review: () => {
        throw new TypeError('boom at secret-place');
      },
    };
    const { app, log } = build({}, [broken]);
    const res = await post(app, '/broken', review(replicaSetPod(), { uid: 'uid-bug' }));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('boom');
    expect(res.json().message).toContain('uid-bug');
    const line = log.lines().find((entry) => entry.uid === 'uid-bug');
    expect(line).toMatchObject({ level: 50, webhook: 'broken' });
    expect(JSON.stringify(line)).toContain('boom at secret-place');
    const next = await post(app, '/mutate/pods', review(replicaSetPod(), { uid: 'uid-next' }));
    expect(next.json().response.uid).toBe('uid-next');
    await app.close();
  });
});

describe('review metrics', () => {
  it('count each review under its webhook, decision and reason, and each rule that fired, apart', async () => {
    const { app, metrics } = build();
    for (let i = 0; i < 3; i++) await post(app, '/mutate/pods', review(replicaSetPod(), { uid: `uid-pod-${i}` }));
    await post(app, '/mutate/pods', review(replicaSetPod(), { operation: 'UPDATE', uid: 'uid-pod-update' }));
    for (let i = 0; i < 2; i++)
      await post(app, '/validate/serviceentries', serviceEntryReview(ossServiceEntry('DNS'), { uid: `uid-dns-${i}` }));
    await post(app, '/validate/serviceentries', serviceEntryReview(ossServiceEntry('NONE'), { uid: 'uid-none' }));
    await post(app, '/validate/serviceentries', serviceEntryReview(tcpServiceEntry(), { uid: 'uid-tcp' }));
    const reviews = (webhook: string, decision: string, reason = '') =>
      metricValue(metrics, 'egress_guard_admission_reviews_total', { webhook, decision, reason });
    const hits = (webhook: string, rule: string) =>
      metricValue(metrics, 'egress_guard_rule_hits_total', { webhook, rule });
    expect(await reviews('mutate-pods', 'patched')).toBe(3);
    expect(await reviews('mutate-pods', 'skipped', 'operation')).toBe(1);
    expect(await reviews('validate-serviceentries', 'denied')).toBe(2);
    expect(await reviews('validate-serviceentries', 'allowed')).toBe(1);
    expect(await reviews('validate-serviceentries', 'warned')).toBe(1);
    expect(await hits('validate-serviceentries', 'wildcard-dns')).toBe(2);
    expect(await hits('validate-serviceentries', 'undeclared-ports')).toBe(1);
    expect(await hits('mutate-pods', 'ISTIO_META_DNS_CAPTURE')).toBe(3);
    expect(await hits('mutate-pods', 'wildcard-dns')).toBe(0);
    await app.close();
  });
});

async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const values = metric?.values ?? [];
  return values
    .filter((value) => Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}
