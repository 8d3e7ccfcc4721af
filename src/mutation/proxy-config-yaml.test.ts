// The YAML editor inserts our entries into the owner's text: block scalars (whose indentation indicators the yaml
// package re-prints wrongly when a document is not indented by 2), comments and quoting come back byte for byte.
import { MAX_ENTRIES } from './input-limits.js';
import { describe, expect, it } from '@jest/globals';
import { parse, parseDocument } from 'yaml';
import { mergeProxyMetadata, type MergeResult } from './proxy-config.js';

const AGENT = { ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' } as const;
const CONTROLLER = { ISTIO_META_DNS_CAPTURE: 'true' } as const;

/** Our lines at `indent`, as the editor writes them for AGENT. */
const ours = (indent: number) =>
  `${' '.repeat(indent)}ISTIO_META_DNS_CAPTURE: "true"\n${' '.repeat(indent)}ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n`;

function changedText(result: MergeResult): string {
  if (result.kind !== 'changed') throw new Error(`expected a change, got ${JSON.stringify(result)}`);
  return result.text;
}

/** What the annotation holds with proxyMetadata set to `metadata` (plain JS, as a YAML 1.2 reader sees it). */
function withMetadata(text: string, metadata: Record<string, string>): unknown {
  const before = (parse(text) ?? {}) as Record<string, unknown>;
  const current = (before.proxyMetadata ?? {}) as Record<string, string>;
  return { ...before, proxyMetadata: { ...current, ...metadata } };
}

// [name, annotation, the value that must survive (path into the parsed annotation), expected text]
const BLOCK_SCALARS: Array<[string, string, (config: any) => unknown, unknown, string]> = [
  [
    '`|2-` in a 4-space document (the reported case)',
    'tracing:\n    custom: |2-\n         indented\n',
    (c) => c.tracing.custom,
    '   indented',
    `tracing:\n    custom: |2-\n         indented\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    '`>2-` in a 4-space document',
    'tracing:\n    custom: >2-\n         indented\n',
    (c) => c.tracing.custom,
    '   indented',
    `tracing:\n    custom: >2-\n         indented\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    '`|4-` stays `|4-`',
    'tracing:\n    custom: |4-\n           indented\n',
    (c) => c.tracing.custom,
    '   indented',
    `tracing:\n    custom: |4-\n           indented\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    '`|-2`, chomping first',
    'tracing:\n    custom: |-2\n         indented\n',
    (c) => c.tracing.custom,
    '   indented',
    `tracing:\n    custom: |-2\n         indented\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    '`|2` with a comment after the header',
    'tracing:\n    custom: |2 # from the chart\n         indented\n',
    (c) => c.tracing.custom,
    '   indented\n',
    `tracing:\n    custom: |2 # from the chart\n         indented\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    '`|2-` after a leading empty line',
    'tracing:\n    custom: |2-\n\n         indented\n',
    (c) => c.tracing.custom,
    '\n   indented',
    `tracing:\n    custom: |2-\n\n         indented\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    '`|2` in a 3-space document',
    'tracing:\n   custom: |2\n        three\n',
    (c) => c.tracing.custom,
    '   three\n',
    `tracing:\n   custom: |2\n        three\nproxyMetadata:\n${ours(3)}`,
  ],
  [
    '`|+` keeps its trailing empty lines, last in the document',
    'tracing:\n    custom: |+\n        kept\n\n\n',
    (c) => c.tracing.custom,
    'kept\n\n\n',
    `tracing:\n    custom: |+\n        kept\n\n\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    '`|2+` keeps its trailing empty lines before another key',
    'tracing:\n    custom: |2+\n        kept\n\nconcurrency: 2\n',
    (c) => c.tracing.custom,
    '  kept\n\n',
    `tracing:\n    custom: |2+\n        kept\n\nconcurrency: 2\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    '`>-` folds as before',
    'tracing:\n    custom: >-\n        one\n        two\n\n          more indented\n',
    (c) => c.tracing.custom,
    'one two\n\n  more indented',
    `tracing:\n    custom: >-\n        one\n        two\n\n          more indented\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    'deeply nested under other fields',
    [
      'tracing:',
      '    custom_tags:',
      '        team:',
      '            literal:',
      '                value: |2',
      '                      payments',
      'concurrency: 2',
      '',
    ].join('\n'),
    (c) => c.tracing.custom_tags.team.literal.value,
    '    payments\n',
    [
      'tracing:',
      '    custom_tags:',
      '        team:',
      '            literal:',
      '                value: |2',
      '                      payments',
      'concurrency: 2',
      `proxyMetadata:\n${ours(4)}`,
    ].join('\n'),
  ],
  [
    'in a list',
    'proxyStatsMatcher:\n    inclusionRegexps:\n        - |2-\n             x.*\n',
    (c) => c.proxyStatsMatcher.inclusionRegexps[0],
    '   x.*',
    `proxyStatsMatcher:\n    inclusionRegexps:\n        - |2-\n             x.*\nproxyMetadata:\n${ours(4)}`,
  ],
  [
    "inside proxyMetadata, another key's value",
    'proxyMetadata:\n    GRPC_XDS_BOOTSTRAP: |2-\n        /etc/istio/grpc.json\n',
    (c) => c.proxyMetadata.GRPC_XDS_BOOTSTRAP,
    '  /etc/istio/grpc.json',
    `proxyMetadata:\n    GRPC_XDS_BOOTSTRAP: |2-\n        /etc/istio/grpc.json\n${ours(4)}`,
  ],
  [
    'inside proxyMetadata, last and keep-chomped',
    'proxyMetadata:\n    A: |2+\n        x\n\n\nconcurrency: 2\n',
    (c) => c.proxyMetadata.A,
    '  x\n\n\n',
    `proxyMetadata:\n    A: |2+\n        x\n\n\n${ours(4)}concurrency: 2\n`,
  ],
  [
    'with `proxyMetadata:` empty',
    'proxyMetadata:\ntracing:\n    custom: |2-\n         indented\n',
    (c) => c.tracing.custom,
    '   indented',
    `proxyMetadata:\n${ours(4)}tracing:\n    custom: |2-\n         indented\n`,
  ],
  [
    'with a flow proxyMetadata',
    'proxyMetadata: {A: "1"}\ntracing:\n    custom: |2-\n         indented\n',
    (c) => c.tracing.custom,
    '   indented',
    'proxyMetadata: {A: "1", ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_DNS_AUTO_ALLOCATE: "true"}\ntracing:\n    custom: |2-\n         indented\n',
  ],
  [
    'with no final newline',
    'tracing:\n    custom: |2-\n         indented',
    (c) => c.tracing.custom,
    '   indented',
    `tracing:\n    custom: |2-\n         indented\nproxyMetadata:\n${ours(4).slice(0, -1)}`,
  ],
  [
    'with Windows line ends',
    'tracing:\r\n    custom: |2-\r\n         indented\r\n',
    (c) => c.tracing.custom,
    '   indented',
    'tracing:\r\n    custom: |2-\r\n         indented\r\nproxyMetadata:\r\n    ISTIO_META_DNS_CAPTURE: "true"\r\n    ISTIO_META_DNS_AUTO_ALLOCATE: "true"\r\n',
  ],
];

describe('the YAML editor keeps block scalars exactly', () => {
  it.each(BLOCK_SCALARS)('%s', (_name, annotation, at, value, expected) => {
    expect(at(parse(annotation))).toBe(value);
    const text = changedText(mergeProxyMetadata(annotation, AGENT));
    expect(text).toBe(expected);
    expect(at(parse(text))).toBe(value);
    expect(parse(text)).toEqual(withMetadata(annotation, AGENT));
    expect(mergeProxyMetadata(text, AGENT)).toEqual({ kind: 'unchanged', kept: [] });
  });
});

// yaml 2.9.1 reads `custom: |` + `  x` with nothing after the x as "x\n"; YAML 1.2 and Istio's go-yaml read "x" (Helm's
// toYaml trims the final newline, so annotations end like this). Lines appended after it would add that line break.
describe('a block scalar that ends the text without a line break', () => {
  it.each([
    [
      '`|`, appending proxyMetadata',
      'tracing:\n    custom: |\n        x',
      (c: any) => c.tracing.custom,
      'x',
      `tracing:\n    custom: |-\n        x\nproxyMetadata:\n${ours(4).slice(0, -1)}`,
    ],
    [
      '`|2+`, appending proxyMetadata',
      'tracing:\n    custom: |2+\n          x',
      (c: any) => c.tracing.custom,
      '    x',
      `tracing:\n    custom: |2-\n          x\nproxyMetadata:\n${ours(4).slice(0, -1)}`,
    ],
    [
      '`>`, last in proxyMetadata',
      'proxyMetadata:\n  A: >\n    x',
      (c: any) => c.proxyMetadata.A,
      'x',
      `proxyMetadata:\n  A: >-\n    x\n${ours(2).slice(0, -1)}`,
    ],
  ])('%s becomes strip-chomped, which keeps what Istio reads', (_name, annotation, at, istioValue, expected) => {
    const text = changedText(mergeProxyMetadata(annotation, AGENT));
    expect(text).toBe(expected);
    expect(at(parse(text))).toBe(istioValue);
  });

  it.each([
    [
      '`|-` needs nothing',
      'tracing:\n    custom: |-\n        x',
      `tracing:\n    custom: |-\n        x\nproxyMetadata:\n${ours(4).slice(0, -1)}`,
    ],
    [
      'not last: nothing to do',
      'tracing:\n  custom: |\n    x\nproxyMetadata: {}',
      'tracing:\n  custom: |\n    x\nproxyMetadata: { ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_DNS_AUTO_ALLOCATE: "true" }',
    ],
  ])('%s', (_name, annotation, expected) => {
    expect(changedText(mergeProxyMetadata(annotation, AGENT))).toBe(expected);
  });

  it('is printed strip-chomped by the re-print too', () => {
    const text = changedText(mergeProxyMetadata('? proxyMetadata\ntracing: |\n  x', AGENT));
    expect((parse(text) as { tracing: unknown }).tracing).toBe('x');
  });
});

describe('the YAML editor inserts only our lines', () => {
  it.each([
    [
      'keeps comments, quoting and odd spacing around our lines',
      "# top\nproxyMetadata:   # ours go below\n  A:   'x'   # note\n  # trailing note\nother:    [ 1,2 ]\n",
      '# top\nproxyMetadata:   # ours go below\n  A:   \'x\'   # note\n  # trailing note\n  ISTIO_META_DNS_CAPTURE: "true"\nother:    [ 1,2 ]\n',
    ],
    [
      '`proxyMetadata: ~` loses only the `~`',
      'proxyMetadata: ~ # none yet\nconcurrency: 2\n',
      'proxyMetadata: # none yet\n  ISTIO_META_DNS_CAPTURE: "true"\nconcurrency: 2\n',
    ],
    [
      '`proxyMetadata: null` in a 4-space document',
      'tracing:\n    sampling: 1\nproxyMetadata: null\n',
      'tracing:\n    sampling: 1\nproxyMetadata:\n    ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    [
      'an empty flow proxyMetadata',
      'proxyMetadata: {}\nconcurrency: 2\n',
      'proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" }\nconcurrency: 2\n',
    ],
    [
      'an empty, unpadded flow proxyMetadata among padded ones',
      'a: {b: 1}\nproxyMetadata: {}\n',
      'a: {b: 1}\nproxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
    [
      'a multi-line flow proxyMetadata with a trailing comma',
      'proxyMetadata: {\n  A: "1", # one\n}\n',
      'proxyMetadata: {\n  A: "1", ISTIO_META_DNS_CAPTURE: "true", # one\n}\n',
    ],
    [
      '`proxyMetadata: null` in a flow mapping',
      '{a: 1, proxyMetadata: null}',
      '{a: 1, proxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}}',
    ],
    [
      'a flow mapping with double-quoted keys gets double-quoted keys',
      '{"a": 1, proxyMetadata: {"A": "1"}}',
      '{"a": 1, proxyMetadata: {"A": "1", "ISTIO_META_DNS_CAPTURE": "true"}}',
    ],
    [
      'a root mapping indented by 2 keeps its column',
      '  a: 1\n  b: 2\n',
      '  a: 1\n  b: 2\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    [
      'keys with anchors and tags',
      'proxyMetadata:\n  &k A: !!str x\n',
      'proxyMetadata:\n  &k A: !!str x\n  ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    [
      'an anchored proxyMetadata nothing refers to',
      'proxyMetadata: &m\n  A: "1"\n',
      'proxyMetadata: &m\n  A: "1"\n  ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    [
      'before the end-of-document marker',
      '---\na: 1\n...\n',
      '---\na: 1\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n...\n',
    ],
  ])('%s', (_name, annotation, expected) => {
    const text = changedText(mergeProxyMetadata(annotation, CONTROLLER));
    expect(text).toBe(expected);
    expect(parse(text)).toEqual(withMetadata(annotation, CONTROLLER));
  });

  it('writes a key that is not plain-safe double-quoted, and escapes what YAML 1.1 reads as a line break', () => {
    const text = changedText(mergeProxyMetadata('a: 1\n', { yes: 'x\u2028y', 'A B': '1' }));
    expect(text).toBe('a: 1\nproxyMetadata:\n  "yes": "x\\u2028y"\n  "A B": "1"\n');
    expect(parse(text)).toEqual({ a: 1, proxyMetadata: { yes: 'x\u2028y', 'A B': '1' } });
  });

  it('refuses a proxyMetadata whose anchor is used elsewhere: our keys would show up there too', () => {
    for (const annotation of ['proxyMetadata: &m {A: "1"}\nother: *m\n', 'proxyMetadata: &m\nother: *m\n']) {
      expect(mergeProxyMetadata(annotation, CONTROLLER)).toEqual({
        kind: 'invalid',
        problem: 'has proxyMetadata anchored as &m and used elsewhere, which egress-guard does not edit',
      });
    }
  });
});

describe('when the text cannot be spliced, the re-print is checked', () => {
  it.each([
    // An explicit key with no value and a tagged null are left to the re-print; at indent 4 it would shift the
    // block scalar, so the indent-2 re-print is the one that comes back.
    ['`? proxyMetadata`', '? proxyMetadata\ntracing:\n    custom: |2-\n         indented\n'],
    ['`proxyMetadata: !!null`', 'proxyMetadata: !!null\ntracing:\n    custom: |2-\n         indented\n'],
  ])('%s', (_name, annotation) => {
    const text = changedText(mergeProxyMetadata(annotation, CONTROLLER));
    expect(parse(text)).toEqual(withMetadata(annotation, CONTROLLER));
    expect(parseDocument(text).errors).toEqual([]);
    // Not what the yaml package prints at indent 4 (`|2-` with the text 2 columns too far right).
    expect(text).not.toContain('           indented');
  });
});

describe('JSON the JSON editor cannot print back as it was is edited as YAML, and stays JSON', () => {
  it.each([
    ['a number beyond float64', '{"a": 1e400}', '{"a": 1e400, "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}'],
    [
      'an integer beyond 2^53',
      '{"a":12345678901234567891}',
      '{"a":12345678901234567891, "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}',
    ],
    [
      'an integer-like key after another key (JSON.parse moves it first)',
      '{"b":1,"1":2}',
      '{"b":1,"1":2, "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}',
    ],
    [
      'the same inside proxyMetadata',
      '{"proxyMetadata":{"B":"1","2":"x"}}',
      '{"proxyMetadata":{"B":"1","2":"x", "ISTIO_META_DNS_CAPTURE": "true"}}',
    ],
  ])('%s', (_name, annotation, expected) => {
    const text = changedText(mergeProxyMetadata(annotation, CONTROLLER));
    expect(text).toBe(expected);
    JSON.parse(text);
  });
});

describe('aliases', () => {
  it.each([
    [
      'an alias with no anchor before it',
      'proxyMetadata:\n  A: *nope\n',
      'has alias *nope with no anchor before it (line 2, column 6)',
    ],
    ['an alias before its anchor', 'a: *x\nb: &x 1\n', 'has alias *x with no anchor before it (line 1, column 4)'],
    [
      'an alias inside the node it names',
      'tracing: &x {a: [*x]}\n',
      'has alias *x inside the node it names (line 1, column 18)',
    ],
  ])('refuses %s (Istio rejects it; the yaml package would throw printing it)', (_name, annotation, problem) => {
    expect(mergeProxyMetadata(annotation, CONTROLLER)).toEqual({ kind: 'invalid', problem });
  });

  it('reads a proxyMetadata value through an alias to the last anchor of that name before it', () => {
    expect(
      mergeProxyMetadata('a: &x "false"\nb: &x "true"\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: *x\n', CONTROLLER),
    ).toEqual({ kind: 'unchanged', kept: [] });
  });

  it('resolves the most aliases input-limits lets through (each used to walk the whole document)', () => {
    let annotation = 'base: &a "v"\nproxyMetadata:\n';
    for (let index = 0; index < MAX_ENTRIES - 2; index++) annotation += `  K${index}: *a\n`;
    expect(mergeProxyMetadata(annotation, CONTROLLER).kind).toBe('changed');
  });
});
