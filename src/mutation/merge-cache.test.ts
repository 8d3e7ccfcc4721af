import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { MergeCache, type Merge } from './merge-cache.js';
import { wantedProxyMetadata } from './pod-mutation.js';
import { mergeProxyMetadata } from './proxy-config.js';

const AGENT = wantedProxyMetadata('agent');
const CONTROLLER = wantedProxyMetadata('controller');

const TEAM_YAML = `# Owned by the payments team
holdApplicationUntilProxyStarts: true
proxyMetadata:
  # legacy TLS origination
  GRPC_XDS_BOOTSTRAP: "/etc/istio/proxy/grpc-bootstrap.json"
`;

/** A counting wrapper around the real merge. */
function counted(): { compute: jest.Mock<Merge>; calls: () => number } {
  const compute = jest.fn<Merge>((existing, wanted) => mergeProxyMetadata(existing, wanted));
  return { compute, calls: () => compute.mock.calls.length };
}

/** `n` distinct annotation texts of exactly `length` characters. */
function texts(n: number, length = 40): string[] {
  return Array.from({ length: n }, (_, i) => `proxyMetadata:\n  K${i}: "v"\n`.padEnd(length, '#'));
}

describe('MergeCache', () => {
  it('gives the same answers as mergeProxyMetadata, for any text, repeated or not', () => {
    const config = fc.dictionary(
      fc.constantFrom('holdApplicationUntilProxyStarts', 'proxyMetadata', 'tracing'),
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.dictionary(
          fc.constantFrom('ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE', 'OTHER'),
          fc.constantFrom('true', 'false', ''),
        ),
      ),
    );
    const annotation = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        '',
        '  ',
        TEAM_YAML,
        '{"proxyMetadata": {}}',
        'proxyMetadata: [',
        'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: true\n',
      ),
      fc.string(),
      config.map((value) => stringify(value)),
      config.map((value) => JSON.stringify(value)),
    );
    const cache = new MergeCache({ maxEntries: 8, maxChars: 64 * 1024 });
    fc.assert(
      fc.property(fc.array(fc.tuple(annotation, fc.boolean()), { minLength: 1, maxLength: 20 }), (calls) => {
        for (const [text, agent] of calls) {
          const wanted = agent ? AGENT : CONTROLLER;
          expect(cache.merge(text, wanted)).toEqual(mergeProxyMetadata(text, wanted));
          expect(cache.merge(text, wanted)).toEqual(mergeProxyMetadata(text, wanted));
        }
      }),
    );
    expect(cache.hits).toBeGreaterThan(0);
  });

  it('merges each distinct text once and answers the rest from memory', () => {
    const { compute, calls } = counted();
    const cache = new MergeCache(undefined, compute);
    const first = cache.merge(TEAM_YAML, AGENT);
    for (let i = 0; i < 99; i++) expect(cache.merge(TEAM_YAML, AGENT)).toBe(first);
    expect(first).toMatchObject({ kind: 'changed', added: ['ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE'] });
    expect(calls()).toBe(1);
    expect({ hits: cache.hits, misses: cache.misses, size: cache.size }).toEqual({ hits: 99, misses: 1, size: 1 });
  });

  it('shares one entry between no annotation and an empty one, which merge identically', () => {
    const { compute, calls } = counted();
    const cache = new MergeCache(undefined, compute);
    expect(cache.merge(undefined, AGENT)).toEqual(mergeProxyMetadata(undefined, AGENT));
    expect(cache.merge('', AGENT)).toEqual(mergeProxyMetadata('', AGENT));
    expect(calls()).toBe(1);
  });

  it('recomputes for a different set of wanted keys instead of answering for the other mode', () => {
    const cache = new MergeCache();
    expect(cache.merge(TEAM_YAML, AGENT)).toEqual(mergeProxyMetadata(TEAM_YAML, AGENT));
    expect(cache.merge(TEAM_YAML, CONTROLLER)).toEqual(mergeProxyMetadata(TEAM_YAML, CONTROLLER));
    expect(cache.merge(TEAM_YAML, AGENT)).toEqual(mergeProxyMetadata(TEAM_YAML, AGENT));
    expect(cache.size).toBe(1);
  });

  it('holds at most maxEntries texts, evicting the least recently used', () => {
    const { compute, calls } = counted();
    const cache = new MergeCache({ maxEntries: 3, maxChars: 1_000_000 }, compute);
    const [a, b, c, d] = texts(4) as [string, string, string, string];
    cache.merge(a, AGENT);
    cache.merge(b, AGENT);
    cache.merge(c, AGENT);
    cache.merge(a, AGENT); // a is now the most recently used; b is the oldest
    cache.merge(d, AGENT);
    expect(cache.size).toBe(3);
    const before = calls();
    cache.merge(a, AGENT);
    cache.merge(c, AGENT);
    cache.merge(d, AGENT);
    expect(calls()).toBe(before);
    cache.merge(b, AGENT);
    expect(calls()).toBe(before + 1);
    for (const text of texts(50)) cache.merge(text, AGENT);
    expect(cache.size).toBe(3);
  });

  it('holds at most maxChars characters, and merges an oversized text without caching it', () => {
    const { compute, calls } = counted();
    const cache = new MergeCache({ maxEntries: 1_000, maxChars: 4_000 }, compute);
    for (const text of texts(100, 100)) {
      cache.merge(text, AGENT);
      expect(cache.chars).toBeLessThanOrEqual(4_000);
    }
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.size).toBeLessThan(100);

    const huge = `proxyMetadata:\n  BIG: "${'x'.repeat(300)}"\n`;
    const size = cache.size;
    const before = calls();
    expect(cache.merge(huge, AGENT)).toEqual(mergeProxyMetadata(huge, AGENT));
    expect(cache.merge(huge, AGENT)).toEqual(mergeProxyMetadata(huge, AGENT));
    expect(calls()).toBe(before + 2);
    expect(cache.size).toBe(size);
  });

  it('hands out frozen results, so one pod cannot change what the next one gets', () => {
    const cache = new MergeCache();
    const changed = cache.merge(TEAM_YAML, AGENT);
    if (changed.kind !== 'changed') throw new Error('expected a change');
    expect(() => changed.added.push('X')).toThrow(TypeError);
    expect(() => changed.kept.push({ key: 'X', value: 'y' })).toThrow(TypeError);
    const kept = cache.merge('proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "false"\n', AGENT);
    if (kept.kind !== 'changed') throw new Error('expected a change');
    expect(Object.isFrozen(kept.kept[0])).toBe(true);
    expect(cache.merge(TEAM_YAML, AGENT)).toEqual(mergeProxyMetadata(TEAM_YAML, AGENT));
  });
});
