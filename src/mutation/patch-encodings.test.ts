import { describe, expect, it } from '@jest/globals';
import { encodePatch } from '../admission/responses.js';
import { MergeCache } from './merge-cache.js';
import { MAX_ENCODED_CHARS, MAX_ENCODINGS, PatchEncodings } from './patch-encodings.js';
import { planPodMutation, PROXY_CONFIG_ANNOTATION } from './pod-mutation.js';

/** The three patch shapes planPodMutation makes: no metadata, no annotations, an annotation map to add to. */
const pods: Record<string, (config?: string) => unknown> = {
  'no metadata': () => ({ spec: {} }),
  'no annotations': () => ({ metadata: { name: 'web' }, spec: {} }),
  'annotations, no proxy config': () => ({ metadata: { annotations: { team: 'payments' } }, spec: {} }),
  'a YAML proxy config': (config = 'holdApplicationUntilProxyStarts: true\n') => ({
    metadata: { annotations: { [PROXY_CONFIG_ANNOTATION]: config } },
    spec: {},
  }),
};

function plan(pod: unknown, merge = new MergeCache().merge) {
  const result = planPodMutation(pod, 'agent', merge);
  if (result.outcome !== 'patched') throw new Error(`expected a patch, got ${result.outcome}`);
  return result;
}

describe('PatchEncodings', () => {
  it.each(Object.keys(pods))(
    'encodes the patch for a pod with %s as encodePatch does, first time and again',
    (shape) => {
      const encodings = new PatchEncodings();
      const merge = new MergeCache().merge;
      for (let replica = 0; replica < 3; replica++) {
        const { patch, annotation } = plan((pods[shape] as () => unknown)(), merge);
        expect(encodings.encode(patch, annotation)).toBe(encodePatch(patch));
      }
      expect(encodings.size).toBe(1);
    },
  );

  it('keeps the shapes apart: the same annotation text under another path is another patch', () => {
    const encodings = new PatchEncodings();
    const merge = new MergeCache().merge;
    const encoded = Object.values(pods)
      .slice(0, 3)
      .map((pod) => {
        const { patch, annotation } = plan(pod(), merge);
        return encodings.encode(patch, annotation);
      });
    expect(new Set(encoded).size).toBe(3);
    expect(encodings.size).toBe(3);
  });

  it('keeps texts apart under one path', () => {
    const encodings = new PatchEncodings();
    const first = plan((pods['a YAML proxy config'] as (config: string) => unknown)('concurrency: 2\n'));
    const second = plan((pods['a YAML proxy config'] as (config: string) => unknown)('concurrency: 4\n'));
    expect(encodings.encode(first.patch, first.annotation)).toBe(encodePatch(first.patch));
    expect(encodings.encode(second.patch, second.annotation)).toBe(encodePatch(second.patch));
    expect(encodings.encode(first.patch, first.annotation)).toBe(encodePatch(first.patch));
  });

  it(`holds at most ${MAX_ENCODINGS} patches, and none larger than ${MAX_ENCODED_CHARS} characters`, () => {
    const encodings = new PatchEncodings();
    for (let i = 0; i < MAX_ENCODINGS * 2 + 7; i++) {
      const { patch, annotation } = plan(
        (pods['a YAML proxy config'] as (config: string) => unknown)(`concurrency: ${i}\n`),
      );
      expect(encodings.encode(patch, annotation)).toBe(encodePatch(patch));
      expect(encodings.size).toBeLessThanOrEqual(MAX_ENCODINGS);
    }
    const big = plan(
      (pods['a YAML proxy config'] as (config: string) => unknown)(
        `# ${'x'.repeat(MAX_ENCODED_CHARS)}\nconcurrency: 2\n`,
      ),
    );
    const before = encodings.size;
    expect(encodings.encode(big.patch, big.annotation)).toBe(encodePatch(big.patch));
    expect(encodings.size).toBe(before);
  });
});
