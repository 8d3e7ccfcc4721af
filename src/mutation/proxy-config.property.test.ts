import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isMap, isScalar, parse, parseDocument, stringify } from 'yaml';
import { goYamlPlainScalarType } from './go-yaml-scalars.js';
import { mergeProxyMetadata } from './proxy-config.js';

const OURS = ['ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE'] as const;
const WANTED = {
  agent: { ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' },
  controller: { ISTIO_META_DNS_CAPTURE: 'true' },
} as const;

// Without U+0085/U+2028/U+2029: line breaks to Istio's YAML 1.1 reader, refused whole (proxy-config.test.ts).
const text = fc
  .oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary-ascii' }))
  .filter((s) => !/[\u0085\u2028\u2029]/.test(s));
// Our keys, prototype-ish names and arbitrary text, so collisions and pollution attempts come up often.
const metadataKey = fc.oneof(fc.constantFrom(...OURS, '__proto__', 'constructor', 'ISTIO_META_OTHER'), text);
const metadataValue = fc.oneof(fc.constantFrom('true', 'false', 'TRUE', 'yes', ''), text);
const metadataEntries = fc.uniqueArray(fc.tuple(metadataKey, metadataValue), {
  selector: ([key]) => key,
  maxLength: 6,
});
const otherFields = fc.uniqueArray(
  fc.tuple(
    fc
      .oneof(fc.constantFrom('holdApplicationUntilProxyStarts', 'tracing', '__proto__'), text)
      .filter((key) => key !== 'proxyMetadata' && key !== '<<'),
    // A `<<` key written plain is a YAML merge key, which the mutation leaves alone (yaml-1-1.ts, and its tests).
    fc.jsonValue({ maxDepth: 3 }).filter((value) => !/[\u0085\u2028\u2029]|"<<"/.test(JSON.stringify(value))),
  ),
  { selector: ([key]) => key, maxLength: 5 },
);
// Quoted YAML strings: how proxyMetadata values have to be written for Istio to read them as strings.
const format = fc.constantFrom('yaml-block', 'yaml-flow', 'json-compact', 'json-indented');

function serialize(config: Record<string, unknown>, how: string): string {
  switch (how) {
    case 'yaml-block':
      return stringify(config, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
    case 'yaml-flow':
      return stringify(config, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', collectionStyle: 'flow' });
    case 'json-compact':
      return JSON.stringify(config);
    default:
      return JSON.stringify(config, null, 2);
  }
}

function withoutMetadata(config: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = Object.fromEntries(Object.entries(config as Record<string, unknown>));
  delete copy['proxyMetadata'];
  return copy;
}

describe('mergeProxyMetadata (properties)', () => {
  it('keeps everything the annotation had, adds our keys as strings, and is idempotent', () => {
    fc.assert(
      fc.property(
        metadataEntries,
        otherFields,
        fc.boolean(),
        format,
        fc.constantFrom('agent', 'controller'),
        (entries, others, withMetadata, how, mode) => {
          const wanted: Readonly<Record<string, string>> = WANTED[mode as keyof typeof WANTED];
          const metadata = Object.fromEntries(entries);
          const config = Object.fromEntries(
            withMetadata || entries.length > 0 ? [...others, ['proxyMetadata', metadata]] : others,
          );
          const input = serialize(config, how);
          const before: unknown = parse(input);

          const result = mergeProxyMetadata(input, wanted);
          // Reported in `wanted` order.
          const kept = Object.keys(wanted).flatMap((key) =>
            entries
              .filter(([present, value]) => present === key && value !== wanted[key])
              .map(([, value]) => ({ key, value })),
          );
          const missing = Object.keys(wanted).filter((key) => !entries.some(([present]) => present === key));
          if (missing.length === 0) {
            expect(result).toEqual({ kind: 'unchanged', kept });
            return;
          }
          if (result.kind !== 'changed')
            throw new Error(`expected a change for ${JSON.stringify(input)}, got ${JSON.stringify(result)}`);
          expect(result.kept).toEqual(kept);
          expect(result.added).toEqual(missing);

          // JSON stays JSON; YAML parses.
          const after: unknown = how.startsWith('json') ? JSON.parse(result.text) : parse(result.text);
          expect(withoutMetadata(after)).toEqual(withoutMetadata(before));
          const afterMetadata = (after as { proxyMetadata: Record<string, unknown> }).proxyMetadata;
          for (const [key, value] of entries) expect(afterMetadata[key]).toBe(value);
          for (const key of missing) {
            expect(typeof afterMetadata[key]).toBe('string');
            expect(afterMetadata[key]).toBe(wanted[key]);
          }
          expect(Object.keys(afterMetadata)).toHaveLength(entries.length + missing.length);
          if (how.startsWith('yaml')) {
            const written = parseDocument(result.text).get('proxyMetadata');
            if (!isMap(written)) throw new Error('proxyMetadata is not a map');
            for (const key of missing) {
              const node = written.get(key, true);
              expect(isScalar(node) && node.type).toBe('QUOTE_DOUBLE');
            }
          }
          expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();

          expect(mergeProxyMetadata(result.text, wanted)).toEqual({ kind: 'unchanged', kept });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses plain YAML values only when Istio would read them as something other than a string', () => {
    fc.assert(
      fc.property(metadataEntries, (entries) => {
        // The yaml package leaves `yes`, `on` or `0b1` unquoted: strings in YAML 1.2, not to Istio.
        const input = stringify({ proxyMetadata: Object.fromEntries(entries) });
        const result = mergeProxyMetadata(input, WANTED.agent);
        const written = parseDocument(input).get('proxyMetadata');
        const plainNonStrings = isMap(written)
          ? written.items.filter(
              (pair) =>
                isScalar(pair.value) &&
                pair.value.type === 'PLAIN' &&
                // A plain null is "" to Istio, as to us.
                !['string', 'null'].includes(goYamlPlainScalarType(String(pair.value.source))),
            )
          : [];
        if (plainNonStrings.length > 0)
          expect(result).toEqual({
            kind: 'invalid',
            problem: expect.stringMatching(/^sets proxyMetadata\..* to unquoted .*; Istio needs a quoted string$/s),
          });
        else expect(result.kind).not.toBe('invalid');
      }),
      { numRuns: 400 },
    );
  });

  it('never throws, and either edits into parseable text or names a problem, for any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          text,
          fc.jsonValue().map((value) => JSON.stringify(value)),
          fc.jsonValue().map((value) => stringify(value)),
        ),
        (input) => {
          const result = mergeProxyMetadata(input, WANTED.agent);
          if (result.kind === 'invalid') expect(result.problem).toMatch(/^[^\u0000-\u001f]+$/);
          if (result.kind === 'changed') {
            const metadata = (parse(result.text) as { proxyMetadata: Record<string, unknown> }).proxyMetadata;
            for (const key of result.added) expect(metadata[key]).toBe('true');
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
