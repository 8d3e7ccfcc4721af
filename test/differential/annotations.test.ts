// proxy.istio.io/config: egress-guard's patch against Istio's own reading (the injector's annotation check and
// mesh.ApplyProxyConfig, via the oracle). Table of corners first, then generated annotations.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { AutoAllocateMode } from '../../src/mutation/pod-mutation.js';
import { judgeAnnotation } from './annotation-verdict.js';
import { annotationText } from './annotation-arbitraries.js';
import { fcParameters } from './fc-settings.js';
import { IstioOracle } from './oracle.js';

let oracle: IstioOracle;
beforeAll(() => {
  oracle = IstioOracle.fromEnv();
});
afterAll(() => oracle.close());

const MODES: readonly AutoAllocateMode[] = ['agent', 'controller'];

// [name, annotation, what egress-guard must do: 'patched' or left alone ('not-patched')]
export const ANNOTATION_TABLE: ReadonlyArray<readonly [string, string, 'patched' | 'not-patched']> = [
  ['empty', '', 'patched'],
  ['comment only', '# nothing yet\n', 'patched'],
  ['null document', 'null', 'patched'],
  ['block mapping', 'holdApplicationUntilProxyStarts: true\nproxyMetadata:\n  OTHER_KEY: "keep-me"\n', 'patched'],
  ['flow mapping', '{proxyMetadata: {OTHER_KEY: keep-me}, concurrency: 2}', 'patched'],
  ['JSON', '{"proxyMetadata":{"OTHER_KEY":"keep-me"},"concurrency":2}', 'patched'],
  [
    'owner said false',
    'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "false"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "false"\n',
    'not-patched',
  ],
  ['unquoted true (Istio rejects it)', 'proxyMetadata: {ISTIO_META_DNS_CAPTURE: true}', 'not-patched'],
  ['YAML 1.1 yes (Istio reads a boolean)', 'proxyMetadata: {OTHER_KEY: yes}', 'not-patched'],
  // Fact 7: merge keys. Istio reads proxyMetadata through `<<`; a top-level proxyMetadata we add would replace it.
  [
    'merge key bringing proxyMetadata',
    '<<: {proxyMetadata: {ISTIO_META_DNS_CAPTURE: "false", OTHER_KEY: "keep-me"}}\n',
    'not-patched',
  ],
  ['merge key from an anchor', 'base: &b {proxyMetadata: {OTHER_KEY: "keep-me"}}\n<<: *b\n', 'not-patched'],
  [
    'merge key inside proxyMetadata',
    'm: &m {ISTIO_META_DNS_CAPTURE: "false"}\nproxyMetadata:\n  <<: *m\n',
    'not-patched',
  ],
  ['quoted "<<" is a plain key', '"<<": {a: "1"}\nproxyMetadata: {OTHER_KEY: "x"}\n', 'patched'],
  // Fact 7: Unicode line breaks end a comment for Istio's YAML 1.1 reader.
  [
    'U+2028 ends a comment',
    '# owner note\u2028proxyMetadata: {ISTIO_META_DNS_CAPTURE: "false", OTHER_KEY: "keep-me"}',
    'not-patched',
  ],
  ['U+2029 ends a comment', '# owner note\u2029proxyMetadata: {OTHER_KEY: "keep-me"}', 'not-patched'],
  ['U+0085 ends a comment', '# owner note\u0085proxyMetadata: {OTHER_KEY: "keep-me"}', 'not-patched'],
  ['U+2028 inside a quoted value', 'proxyMetadata: {OTHER_KEY: "a\u2028b"}', 'not-patched'],
  // Fact 7: nulls are "" to Istio: accepted, and the owner's empty value is kept.
  ['null value of another key', 'proxyMetadata: {OTHER_KEY: null}', 'patched'],
  ['tilde value of another key', 'proxyMetadata:\n  OTHER_KEY: ~\n', 'patched'],
  ['empty value of another key', 'proxyMetadata:\n  OTHER_KEY:\n', 'patched'],
  [
    'null values of our keys',
    'proxyMetadata: {ISTIO_META_DNS_CAPTURE: null, ISTIO_META_DNS_AUTO_ALLOCATE: ~}',
    'not-patched',
  ],
  ['aliased value', 'x: &v "keep-me"\nproxyMetadata: {OTHER_KEY: *v}', 'patched'],
  ['proxyMetadata as an alias', 'x: &m {OTHER_KEY: "keep-me"}\nproxyMetadata: *m', 'not-patched'],
  [
    'two documents (Istio reads the first)',
    'proxyMetadata: {OTHER_KEY: "a"}\n---\nproxyMetadata: {OTHER_KEY: "b"}\n',
    'not-patched',
  ],
  ['document end marker', 'proxyMetadata: {OTHER_KEY: "a"}\n...\n', 'patched'],
  [
    'a date under a YAML 1.1 directive (a string to Istio)',
    '%YAML 1.1\n---\nproxyMetadata: {OTHER_KEY: 2001-01-01}\n',
    'patched',
  ],
  ['YAML 1.1 directive', '%YAML 1.1\n---\nproxyMetadata: {OTHER_KEY: "a"}\n', 'patched'],
  ['YAML 1.2 directive (go-yaml v2 refuses it)', '%YAML 1.2\n---\nproxyMetadata: {OTHER_KEY: "a"}\n', 'not-patched'],
  ['CRLF line breaks', 'concurrency: 2\r\nproxyMetadata:\r\n  OTHER_KEY: "a"\r\n', 'patched'],
  ['block scalar', 'proxyMetadata:\n  OTHER_KEY: |\n    two\n    lines\n', 'patched'],
  ['duplicate key', 'proxyMetadata: {OTHER_KEY: "a"}\nproxyMetadata: {OTHER_KEY: "b"}\n', 'not-patched'],
  ['list, not a mapping', '- proxyMetadata', 'not-patched'],
];

describe('proxy.istio.io/config against Istio (table)', () => {
  for (const [name, annotation, expected] of ANNOTATION_TABLE) {
    for (const mode of MODES) {
      it(`${name} (${mode})`, async () => {
        const verdict = await judgeAnnotation(oracle, annotation, mode);
        expect(verdict.disagreements).toEqual([]);
        expect(verdict.outcome === 'patched' ? 'patched' : 'not-patched').toBe(expected);
      });
    }
  }
});

describe('proxy.istio.io/config against Istio (generated)', () => {
  it('leaves the pod unchanged, or Istio reads our output as its input plus our keys', async () => {
    await fc.assert(
      fc.asyncProperty(annotationText, fc.constantFrom(...MODES), async (annotation, mode) => {
        const verdict = await judgeAnnotation(oracle, annotation, mode);
        if (verdict.disagreements.length > 0)
          throw new Error(`${JSON.stringify(annotation)} (${mode}): ${verdict.disagreements.join('; ')}`);
      }),
      fcParameters(400),
    );
  });
});
