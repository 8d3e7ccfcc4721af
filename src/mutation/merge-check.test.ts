import { describe, expect, it } from '@jest/globals';
import { mergeCheck, readAnnotation } from './merge-check.js';

const OURS = [['ISTIO_META_DNS_CAPTURE', 'true']] as const;

function accepts(
  original: string,
  edited: string,
  additions: ReadonlyArray<readonly [string, string]> = OURS,
): boolean {
  const check = mergeCheck(readAnnotation(original), original, additions);
  if (!check.ok) throw new Error(`${original} does not read: ${check.error.message}`);
  return check.accepts(edited);
}

describe('mergeCheck', () => {
  it.each([
    [
      'our entry after the others',
      'proxyMetadata:\n  A: "1"\n',
      'proxyMetadata:\n  A: "1"\n  ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    ['a new proxyMetadata, last', 'a: 1\n', 'a: 1\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n'],
    ['a null proxyMetadata become a mapping', 'proxyMetadata: ~\n', 'proxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}'],
    ['nothing at all', '# just a comment\n', 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n'],
    [
      'comments, indentation and flow/block style changed',
      '# c\na:\n    b: [1, 2]  # d\n',
      'a:\n  b:\n    - 1\n    - 2\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
    [
      'a quoted string written plain, where Istio reads it as a string too',
      'a: "text"\n',
      'a: text\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
    [
      'a block scalar written quoted',
      'a: |2-\n     x\n',
      'a: "   x"\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
    [
      'JSON written as YAML',
      '{"a": [1, {"b": null}]}',
      'a: [1, {b: ~}]\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
  ])('accepts %s', (_name, original, edited) => {
    expect(accepts(original, edited)).toBe(true);
  });

  it.each([
    // What yaml 2.9.1 prints for the first one at indent 4: the `|2-` stays and the text moves 2 columns right.
    [
      'a block scalar that gained two spaces',
      'tracing:\n    custom: |2-\n         indented\n',
      'tracing:\n    custom: |2-\n           indented\nproxyMetadata:\n    ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    [
      'a quoted "yes" written plain: a boolean to Istio',
      'a: "yes"\n',
      'a: yes\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
    ['a number become a string', 'a: 1\n', 'a: "1"\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n'],
    [
      'an integer rounded through a float',
      'a: 12345678901234567891\n',
      'a: 12345678901234567000\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
    ['keys in another order', 'a: 1\nb: 2\n', 'b: 2\na: 1\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n'],
    ['our entry missing', 'a: 1\n', 'a: 1\n'],
    ['our entry with another value', 'a: 1\n', 'a: 1\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "false"}\n'],
    ['our entry unquoted (a boolean to Istio)', 'a: 1\n', 'a: 1\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: true}\n'],
    [
      "our entry before the owner's",
      'proxyMetadata:\n  A: "1"\n',
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n  A: "1"\n',
    ],
    ['an extra key', 'a: 1\n', 'a: 1\nb: 2\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n'],
    ['a tag dropped', 'a: !!str 1\n', 'a: "1"\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n'],
    ['an anchor renamed', 'a: &x 1\nb: *x\n', 'a: &y 1\nb: *y\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n'],
    ['text that does not parse', 'a: 1\n', 'a: 1\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"\n'],
    ['a second document', 'a: 1\n', 'a: 1\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n---\nb: 2\n'],
    [
      'an alias that lost its anchor',
      'a: &x 1\nb: *x\n',
      'a: 1\nb: *x\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
    ['a duplicate key', 'a: 1\n', 'a: 1\na: 1\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n'],
  ])('rejects %s', (_name, original, edited) => {
    expect(accepts(original, edited)).toBe(false);
  });

  it('accepts nothing for a proxyMetadata whose anchor is aliased: the alias would change too', () => {
    expect(
      accepts(
        'proxyMetadata: &m {A: "1"}\nb: *m\n',
        'proxyMetadata: &m {A: "1", ISTIO_META_DNS_CAPTURE: "true"}\nb: *m\n',
      ),
    ).toBe(false);
  });

  it('checks nothing when the original does not read, and says why', () => {
    expect(mergeCheck(readAnnotation('a: [\n'), 'a: [\n', OURS)).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'BAD_INDENT' }),
    });
  });

  it('takes its expectation when made: later edits to the Document do not move it', () => {
    const document = readAnnotation('a: 1\n');
    const check = mergeCheck(document, 'a: 1\n', OURS);
    document.set('b', 2);
    if (!check.ok) throw new Error('a: 1 reads');
    expect(check.accepts('a: 1\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n')).toBe(true);
  });
});
