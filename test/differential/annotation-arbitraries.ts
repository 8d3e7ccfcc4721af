// Generated proxy.istio.io/config texts aimed at where YAML 1.2 (the yaml package) and YAML 1.1 (Istio's go-yaml
// v2 via sigs.k8s.io/yaml) part ways: merge keys, anchors, Unicode line breaks, plain scalars like yes/~/0x1F,
// directives, several documents, comments, JSON, CRLF and BOM.
import fc from 'fast-check';

const KEYS = [
  'ISTIO_META_DNS_CAPTURE',
  'ISTIO_META_DNS_AUTO_ALLOCATE',
  'OTHER_KEY',
  'ANOTHER',
  '"quoted key"',
  "'single'",
  '<<',
  '"<<"',
  'y',
];
const VALUES = [
  '"true"',
  '"false"',
  'true',
  'false',
  'yes',
  'No',
  'on',
  'null',
  'Null',
  '~',
  '',
  '"keep-me"',
  'keep-me',
  "'it''s'",
  '1',
  '0x1F',
  '1_000',
  '.5',
  '2001-01-01',
  '!!str yes',
  '"a\u2028b"',
  '"a\u0085b"',
  'a b',
  '*v',
  '&w "anchored"',
  '"multi\n  line"',
];
const OTHER_ENTRIES = [
  'concurrency: 2',
  'holdApplicationUntilProxyStarts: true',
  'tracing: {sampling: 10}',
  'drainDuration: 30s',
  'unknownField: {a: b}',
  'v: &v "aliased"',
  'base: &b {proxyMetadata: {ISTIO_META_DNS_CAPTURE: "false", OTHER_KEY: "from-base"}}',
  '<<: *b',
  '<<: {proxyMetadata: {OTHER_KEY: "merged"}}',
  '<<: [{concurrency: 3}]',
  'meta: &m {OTHER_KEY: "anchored-map"}',
];
const COMMENTS = [
  '# a comment',
  '# a comment\u2028proxyMetadata: {ISTIO_META_DNS_CAPTURE: "false", OTHER_KEY: "hidden"}',
  '# a comment\u2029concurrency: 4',
  '# a comment\u0085proxyMetadata: {OTHER_KEY: "hidden"}',
];
const BREAKS = ['\n', '\n', '\n', '\r\n', '\u2028', '\u0085', '\u2029'];
const PREFIXES = ['', '', '---\n', '%YAML 1.1\n---\n', '%YAML 1.2\n---\n', '\ufeff', '--- # doc\n'];
const SUFFIXES = ['', '', '\n', '\n---\nproxyMetadata: {OTHER_KEY: "second"}\n', '\n...\n', '\n# trailing'];

const entry = fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES));

const proxyMetadataLines = fc.oneof(
  fc.constant<string[]>([]),
  fc.constant(['proxyMetadata:']),
  fc.constant(['proxyMetadata: *m']),
  fc
    .tuple(fc.array(entry, { maxLength: 4 }), fc.constantFrom('  ', '    ', '\t'), fc.constantFrom('', ' &pm'))
    .map(([entries, indent, anchor]) => [
      `proxyMetadata:${anchor}`,
      ...entries.map(([k, v]) => `${indent}${k}: ${v}`.trimEnd()),
    ]),
  fc
    .tuple(fc.array(entry, { maxLength: 4 }), fc.constantFrom('', ' &pm'))
    .map(([entries, anchor]) => [
      `proxyMetadata:${anchor} {${entries.map(([k, v]) => `${k}: ${v.includes('\n') ? '"x"' : v}`).join(', ')}}`,
    ]),
);

const yamlText = fc
  .tuple(
    fc.constantFrom(...PREFIXES),
    fc.array(fc.constantFrom(...OTHER_ENTRIES), { maxLength: 3 }),
    proxyMetadataLines,
    fc.array(fc.constantFrom(...COMMENTS), { maxLength: 2 }),
    fc.nat(),
    fc.constantFrom(...BREAKS),
    fc.constantFrom(...SUFFIXES),
  )
  .map(([prefix, others, metadata, comments, seed, lineBreak, suffix]) => {
    // Comments and other entries go before or after proxyMetadata (whose lines stay together, in order).
    const before = [...others, ...comments].filter((_, i) => (seed >> i) % 2 === 0);
    const after = [...others, ...comments].filter((_, i) => (seed >> i) % 2 === 1);
    return prefix + [...before, ...metadata, ...after].join(lineBreak) + suffix;
  });

const jsonString = fc.oneof(
  fc.constantFrom('true', 'false', 'keep-me', '', 'a\u2028b', 'a\u2029b', 'a\u0085b', 'é', '\t'),
  fc.string({ maxLength: 6 }),
);
const jsonText = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...KEYS.filter((k) => !k.includes('"') && !k.includes("'"))), jsonString, {
      maxKeys: 3,
    }),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([metadata, indent, withOther]) => {
    const config: Record<string, unknown> = { proxyMetadata: metadata };
    if (withOther) config.concurrency = 2;
    return JSON.stringify(config, null, indent ? 2 : undefined);
  });

export const annotationText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: yamlText },
  { weight: 1, arbitrary: jsonText },
);
