import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { DeferredCounter } from './metrics.js';

function counterOn(registry: Registry): DeferredCounter<'webhook' | 'decision'> {
  return new DeferredCounter({
    name: 'test_reviews_total',
    help: 'test',
    labelNames: ['webhook', 'decision'],
    registers: [registry],
  });
}

const lines = async (registry: Registry) =>
  (await registry.metrics()).split('\n').filter((line) => line.startsWith('test_reviews_total'));

describe('DeferredCounter', () => {
  it('shows every increment at the next scrape, by label values', async () => {
    const registry = new Registry();
    const counter = counterOn(registry);
    for (let i = 0; i < 3; i++) counter.inc('pods/patched', () => ({ webhook: 'pods', decision: 'patched' }));
    counter.inc('pods/skipped', () => ({ webhook: 'pods', decision: 'skipped' }));
    expect(await lines(registry)).toEqual([
      'test_reviews_total{webhook="pods",decision="patched"} 3',
      'test_reviews_total{webhook="pods",decision="skipped"} 1',
    ]);
  });

  it('counts on across scrapes without counting anything twice', async () => {
    const registry = new Registry();
    const counter = counterOn(registry);
    counter.inc('a', () => ({ webhook: 'pods', decision: 'patched' }));
    await registry.metrics();
    expect(await lines(registry)).toEqual(['test_reviews_total{webhook="pods",decision="patched"} 1']);
    counter.inc('a', () => ({ webhook: 'pods', decision: 'patched' }));
    counter.inc('a', () => ({ webhook: 'pods', decision: 'patched' }));
    expect(await lines(registry)).toEqual(['test_reviews_total{webhook="pods",decision="patched"} 3']);
  });

  it('builds the label values only the first time a key is seen', () => {
    const counter = counterOn(new Registry());
    let built = 0;
    const labels = () => (built++, { webhook: 'pods', decision: 'patched' });
    for (let i = 0; i < 5; i++) counter.inc('pods/patched', labels);
    expect(built).toBe(1);
  });

  it('counts through a kept increment as through inc, across scrapes, under the same key', async () => {
    const registry = new Registry();
    const counter = counterOn(registry);
    const patched = counter.counterFor('pods/patched', () => ({ webhook: 'pods', decision: 'patched' }));
    expect(await lines(registry)).toEqual([]);
    patched();
    patched();
    counter.inc('pods/patched', () => ({ webhook: 'pods', decision: 'patched' }));
    expect(await lines(registry)).toEqual(['test_reviews_total{webhook="pods",decision="patched"} 3']);
    patched();
    expect(counter.counterFor('pods/patched', () => ({ webhook: 'x', decision: 'y' }))).not.toBe(patched);
    expect(await lines(registry)).toEqual(['test_reviews_total{webhook="pods",decision="patched"} 4']);
  });
});
