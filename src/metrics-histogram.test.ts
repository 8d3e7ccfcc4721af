import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { BoundLabelsHistogram } from './metrics-histogram.js';

const NAME = 'test_duration_seconds';
const HELP = 'Durations.';
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1];

/** The same observations through prom-client's Histogram and ours, each on its own registry. */
async function bothExpositions(observations: ReadonlyArray<readonly [string, number]>) {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ['webhook'],
    buckets: BUCKETS,
    registers: [theirs],
  });
  const histogram = new BoundLabelsHistogram<'webhook'>({
    name: NAME,
    help: HELP,
    buckets: BUCKETS,
    registers: [ours],
  });
  for (const [webhook, seconds] of observations) {
    reference.observe({ webhook }, seconds);
    histogram.bind({ webhook }).observe(seconds);
  }
  return {
    theirs: await theirs.metrics(),
    ours: await ours.metrics(),
    theirsJson: await theirs.getMetricsAsJSON(),
    oursJson: await ours.getMetricsAsJSON(),
    histogram,
    reference,
  };
}

describe('BoundLabelsHistogram', () => {
  it('is exposed as prom-client exposes its own Histogram, text and JSON', async () => {
    const { theirs, ours, theirsJson, oursJson } = await bothExpositions([
      ['mutate-pods', 0.00005],
      ['mutate-pods', 0.0001],
      ['validate-serviceentries', 0.0003],
      ['mutate-pods', 0.02],
      ['validate-serviceentries', 5],
    ]);
    expect(ours).toBe(theirs);
    expect(ours).toContain('test_duration_seconds_bucket{le="0.0001",webhook="mutate-pods"} 2');
    expect(ours).toContain('test_duration_seconds_bucket{le="+Inf",webhook="validate-serviceentries"} 2');
    // prom-client puts `exemplar: null` on buckets; the rest is the same.
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json, (key, value) => (key === 'exemplar' ? undefined : value)));
    expect(withoutExemplars(oursJson)).toEqual(withoutExemplars(theirsJson));
  });

  it('counts any observations as prom-client does', async () => {
    const observation = fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.double({ min: 0, max: 2, noNaN: true }));
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { minLength: 1, maxLength: 40 }), async (observations) => {
        // Every label set observed at least once, as prom-client shows a series only after its first observation.
        const { theirs, ours } = await bothExpositions(observations);
        expect(ours).toBe(theirs);
      }),
    );
  });

  it('binds each label set once, shows it at zero until observed, and resets to zero', async () => {
    const registry = new Registry();
    const histogram = new BoundLabelsHistogram<'webhook'>({
      name: NAME,
      help: HELP,
      buckets: BUCKETS,
      registers: [registry],
    });
    expect(histogram.bind({ webhook: 'a' })).toBe(histogram.bind({ webhook: 'a' }));
    expect(await registry.metrics()).toContain('test_duration_seconds_count{webhook="a"} 0');
    histogram.bind({ webhook: 'a' }).observe(0.5);
    histogram.bind({ webhook: 'a' }).observe(Number.NaN);
    expect(await registry.metrics()).toContain('test_duration_seconds_count{webhook="a"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('test_duration_seconds_sum{webhook="a"} 0');
  });
});
