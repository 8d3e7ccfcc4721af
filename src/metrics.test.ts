import { describe, expect, it } from '@jest/globals';
import { createMetrics } from './metrics.js';
import { inspectCertificate } from './tls/certificate.js';
import { recordCertificate } from './tls/certificate-reloader.js';
import { packageVersion } from './version.js';
import { issue, newCa } from '../test/support/certificates.js';

const series = async (text: Promise<string>, name: string) =>
  (await text).split('\n').filter((line) => line.startsWith(name));

describe('createMetrics', () => {
  it('shows both TLS reload results at 0 before the first rotation, so an alert on rejected works from the start', async () => {
    const { registry } = createMetrics();
    expect(await series(registry.metrics(), 'egress_guard_tls_reloads_total')).toEqual([
      'egress_guard_tls_reloads_total{result="success"} 0',
      'egress_guard_tls_reloads_total{result="rejected"} 0',
    ]);
  });

  it('gives every server its own registry', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.reviews.inc({ webhook: 'mutate-pods', decision: 'patched', reason: '' });
    expect(await series(second.registry.metrics(), 'egress_guard_admission_reviews_total{')).toEqual([]);
    expect(await series(first.registry.metrics(), 'egress_guard_admission_reviews_total{')).toEqual([
      'egress_guard_admission_reviews_total{webhook="mutate-pods",decision="patched",reason=""} 1',
    ]);
  });
});

describe('createMetrics: names', () => {
  const names = async () =>
    new Set(
      (await createMetrics().registry.metrics())
        .split('\n')
        .filter((line) => line.startsWith('# TYPE '))
        .map((line) => line.split(' ')[2] ?? ''),
    );

  it("keeps prom-client's standard process_* and nodejs_* names without our prefix", async () => {
    const exposed = await names();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes'])
      expect(exposed).toContain(name);
    expect([...exposed].filter((name) => /^egress_guard_(process|nodejs)_/.test(name))).toEqual([]);
  });

  it('leaves out the gauges whose names end in _total, keeping their per-type gauges', async () => {
    const exposed = await names();
    for (const kind of ['handles', 'requests', 'resources']) {
      expect(exposed).not.toContain(`nodejs_active_${kind}_total`);
      expect(exposed).toContain(`nodejs_active_${kind}`);
    }
  });

  it('says which version runs in egress_guard_build_info', async () => {
    const text = await createMetrics().registry.metrics();
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(text).toMatch(new RegExp(`^egress_guard_build_info\\{version="${packageVersion()}"\\} 1$`, 'm'));
  });

  it("exports the served certificate's notAfter as a Unix timestamp, as cert-manager does", async () => {
    const notAfter = new Date(Date.UTC(2031, 0, 2, 3, 4, 5));
    const pair = await issue(await newCa(), { notAfter });
    const metrics = createMetrics();
    recordCertificate(metrics, inspectCertificate({ cert: pair.certPem, key: pair.keyPem }));
    expect(await metrics.registry.metrics()).toMatch(
      /^egress_guard_tls_certificate_expiration_timestamp_seconds 1925089445$/m,
    );
  });
});
