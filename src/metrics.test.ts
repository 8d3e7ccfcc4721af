import { describe, expect, it } from '@jest/globals';
import { createMetrics } from './metrics.js';

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
