import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateCertificates } from '../../src/certs/generate.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { ossServiceEntry, replicaSetPod, review, serviceEntryReview } from '../fixtures/reviews.js';
import { postJson } from '../support/https-client.js';
import { captureLog } from '../support/log-capture.js';

describe('the server on a real HTTPS listener', () => {
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
    const config = loadConfig({ PORT: '0', OPS_PORT: '0', HOST: '127.0.0.1' });
    server = await startServer({ config, logger: captureLog().logger }, { cert: certs.certPem, key: certs.keyPem });
  });
  afterAll(() => server.close());

  it('answers a pod review over TLS, trusted through the CA only', async () => {
    const reply = await postJson(`${server.admissionUrl}/mutate/pods`, review(replicaSetPod(), { uid: 'tls-1' }), ca);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).response).toMatchObject({ uid: 'tls-1', allowed: true, patchType: 'JSONPatch' });
  });

  it('denies a wildcard DNS ServiceEntry over TLS', async () => {
    const reply = await postJson(
      `${server.admissionUrl}/validate/serviceentries`,
      serviceEntryReview(ossServiceEntry('DNS')),
      ca,
    );
    expect(JSON.parse(reply.body).response).toMatchObject({
      allowed: false,
      status: { code: 403, reason: 'Forbidden' },
    });
  });

  it('refuses clients that only speak TLS 1.1', async () => {
    await expect(
      postJson(`${server.admissionUrl}/mutate/pods`, review(replicaSetPod()), ca, {
        maxVersion: 'TLSv1.1',
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    ).rejects.toThrow();
  });

  it('serves /healthz, /readyz and Prometheus /metrics on the plain ops listener', async () => {
    expect((await fetch(`${server.opsUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true });
    const metrics = await fetch(`${server.opsUrl}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(
      /egress_guard_admission_reviews_total\{webhook="mutate-pods",decision="patched",reason=""\} \d+/,
    );
    expect(text).toContain('egress_guard_admission_review_duration_seconds_bucket');
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('says not ready once a check fails', async () => {
    server.readiness.set('shutdown', false, 'test');
    const ready = await fetch(`${server.opsUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, checks: { shutdown: { ok: false, detail: 'test' } } });
    server.readiness.set('shutdown', true);
  });
});
