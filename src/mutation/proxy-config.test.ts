import { describe, expect, it } from '@jest/globals';
import { isMap, isScalar, parse, parseDocument } from 'yaml';
import { MAX_ENTRIES, MAX_NESTING } from './input-limits.js';
import { mergeProxyMetadata, type MergeResult } from './proxy-config.js';

const AGENT = { ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' } as const;
const CONTROLLER = { ISTIO_META_DNS_CAPTURE: 'true' } as const;
const BOTH = ['ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE'];

const FRESH = ['proxyMetadata:', '  ISTIO_META_DNS_CAPTURE: "true"', '  ISTIO_META_DNS_AUTO_ALLOCATE: "true"', ''].join(
  '\n',
);

// What a platform team typically puts in a Deployment's pod template.
const TEAM_YAML = `# Owned by the payments team; see RUNBOOK.md before changing.
holdApplicationUntilProxyStarts: true
tracing:
  sampling: 10.0
  zipkin:
    address: zipkin.observability:9411
proxyMetadata:
  # Needed for the legacy TLS origination path.
  ISTIO_META_TLS_CLIENT_ROOT_CERT: '/etc/certs/root.pem'
  GRPC_XDS_BOOTSTRAP: "/etc/istio/proxy/grpc-bootstrap.json"
proxyStatsMatcher:
  inclusionPrefixes:
    - cluster.outbound
    - listener
`;
const TEAM_YAML_MERGED = TEAM_YAML.replace(
  '  GRPC_XDS_BOOTSTRAP: "/etc/istio/proxy/grpc-bootstrap.json"\n',
  '  GRPC_XDS_BOOTSTRAP: "/etc/istio/proxy/grpc-bootstrap.json"\n  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n',
);

const INDENTED_JSON = `{
  "holdApplicationUntilProxyStarts": true,
  "proxyMetadata": {
    "GRPC_XDS_BOOTSTRAP": "/etc/istio/proxy/grpc-bootstrap.json"
  }
}
`;

function changed(result: MergeResult): Extract<MergeResult, { kind: 'changed' }> {
  if (result.kind !== 'changed') throw new Error(`expected a change, got ${JSON.stringify(result)}`);
  return result;
}

/** proxyMetadata of an annotation, parsed the way a YAML 1.2 reader (and JSON) sees it. */
function metadataOf(text: string): Record<string, unknown> {
  const config: unknown = parse(text);
  const metadata = (config as { proxyMetadata?: unknown }).proxyMetadata;
  if (typeof metadata !== 'object' || metadata === null) throw new Error(`no proxyMetadata mapping in ${text}`);
  return metadata as Record<string, unknown>;
}

describe('mergeProxyMetadata adds the keys egress-guard wants', () => {
  it.each([
    ['no annotation', undefined, AGENT, FRESH],
    ['an empty annotation', '', AGENT, FRESH],
    ['a blank annotation', '  \n\t\n', AGENT, FRESH],
    ['controller mode: only DNS capture', undefined, CONTROLLER, 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n'],
    ['YAML with comments, other fields and other proxyMetadata keys', TEAM_YAML, AGENT, TEAM_YAML_MERGED],
    [
      'one-line YAML keeps having no final newline',
      'holdApplicationUntilProxyStarts: true',
      AGENT,
      'holdApplicationUntilProxyStarts: true\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"',
    ],
    [
      'YAML indented by 4 stays indented by 4',
      'tracing:\n    sampling: 1\nproxyMetadata:\n    A: "1"\n',
      CONTROLLER,
      'tracing:\n    sampling: 1\nproxyMetadata:\n    A: "1"\n    ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    [
      'YAML with unindented sequences keeps them',
      'proxyStatsMatcher:\n  inclusionPrefixes:\n  - listener\n',
      CONTROLLER,
      'proxyStatsMatcher:\n  inclusionPrefixes:\n  - listener\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    [
      'a YAML flow mapping stays flow, unpadded',
      '{holdApplicationUntilProxyStarts: true}',
      AGENT,
      '{holdApplicationUntilProxyStarts: true, proxyMetadata: {ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_DNS_AUTO_ALLOCATE: "true"}}',
    ],
    [
      'a padded YAML flow mapping stays padded',
      '{ concurrency: 2 }\n',
      CONTROLLER,
      '{ concurrency: 2, proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } }\n',
    ],
    [
      'a YAML flow proxyMetadata gets the keys inline',
      'proxyMetadata: {A: "1"}\n',
      CONTROLLER,
      'proxyMetadata: {A: "1", ISTIO_META_DNS_CAPTURE: "true"}\n',
    ],
    [
      'a YAML comment-only annotation keeps its comment',
      '# filled in by the chart\n',
      CONTROLLER,
      '# filled in by the chart\n\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
    ['YAML null is an empty ProxyConfig', 'null\n', CONTROLLER, 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n'],
    [
      'an empty YAML proxyMetadata keeps its comment where it was',
      'proxyMetadata: # filled by CI\nconcurrency: 2\n',
      CONTROLLER,
      'proxyMetadata: # filled by CI\n  ISTIO_META_DNS_CAPTURE: "true"\nconcurrency: 2\n',
    ],
    ['YAML `proxyMetadata: ~`', 'proxyMetadata: ~\n', CONTROLLER, 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n'],
    [
      'compact JSON stays compact JSON',
      '{"holdApplicationUntilProxyStarts":true}',
      AGENT,
      '{"holdApplicationUntilProxyStarts":true,"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true","ISTIO_META_DNS_AUTO_ALLOCATE":"true"}}',
    ],
    [
      'indented JSON stays indented JSON',
      INDENTED_JSON,
      AGENT,
      `{
  "holdApplicationUntilProxyStarts": true,
  "proxyMetadata": {
    "GRPC_XDS_BOOTSTRAP": "/etc/istio/proxy/grpc-bootstrap.json",
    "ISTIO_META_DNS_CAPTURE": "true",
    "ISTIO_META_DNS_AUTO_ALLOCATE": "true"
  }
}
`,
    ],
    [
      'tab-indented JSON keeps its tabs',
      '{\n\t"concurrency": 2\n}',
      CONTROLLER,
      '{\n\t"concurrency": 2,\n\t"proxyMetadata": {\n\t\t"ISTIO_META_DNS_CAPTURE": "true"\n\t}\n}',
    ],
    [
      'JSON keeps the whitespace around it (a Helm `|` block ends in a newline)',
      '  {"concurrency":2}\n',
      CONTROLLER,
      '  {"concurrency":2,"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}\n',
    ],
    [
      'JSON `"proxyMetadata": null` is no proxyMetadata',
      '{"proxyMetadata":null}',
      CONTROLLER,
      '{"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}',
    ],
    [
      'JSON keeps keys named like Object.prototype members as data',
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
      CONTROLLER,
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}',
    ],
    [
      'YAML keeps keys named like Object.prototype members as data',
      '__proto__:\n  polluted: true\nproxyMetadata:\n  __proto__: "x"\n  constructor: "y"\n',
      CONTROLLER,
      '__proto__:\n  polluted: true\nproxyMetadata:\n  __proto__: "x"\n  constructor: "y"\n  ISTIO_META_DNS_CAPTURE: "true"\n',
    ],
  ])('%s', (_name, existing, wanted, expected) => {
    const result = changed(mergeProxyMetadata(existing, wanted));
    expect(result.text).toBe(expected);
    expect(result.added).toEqual(Object.keys(wanted));
    expect(result.kept).toEqual([]);
    // Written as strings, which is what Istio's map<string,string> requires.
    const metadata = metadataOf(result.text);
    for (const [key, value] of Object.entries(wanted)) expect(metadata[key]).toBe(value);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // Reinvocation-safe: the result already carries everything.
    expect(mergeProxyMetadata(result.text, wanted)).toEqual({ kind: 'unchanged', kept: [] });
  });

  it('writes our values double-quoted in YAML', () => {
    const doc = parseDocument(changed(mergeProxyMetadata('concurrency: 2\n', AGENT)).text);
    const metadata = doc.get('proxyMetadata');
    if (!isMap(metadata)) throw new Error('proxyMetadata is not a map');
    for (const key of BOTH) {
      const node = metadata.get(key, true);
      expect(isScalar(node) && node.type).toBe('QUOTE_DOUBLE');
    }
  });

  it('quotes every value it writes, even ones YAML would leave plain', () => {
    expect(changed(mergeProxyMetadata('concurrency: 2\n', { ISTIO_META_MODE: 'capture' })).text).toBe(
      'concurrency: 2\nproxyMetadata:\n  ISTIO_META_MODE: "capture"\n',
    );
  });

  it('keeps a JSON annotation as JSON', () => {
    const result = changed(mergeProxyMetadata(INDENTED_JSON, AGENT));
    expect(JSON.parse(result.text)).toEqual({
      holdApplicationUntilProxyStarts: true,
      proxyMetadata: {
        GRPC_XDS_BOOTSTRAP: '/etc/istio/proxy/grpc-bootstrap.json',
        ISTIO_META_DNS_CAPTURE: 'true',
        ISTIO_META_DNS_AUTO_ALLOCATE: 'true',
      },
    });
  });
});

describe('mergeProxyMetadata leaves keys the owner set', () => {
  it.each([
    [
      'YAML: DNS capture off, auto-allocate missing',
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "false"\n',
      AGENT,
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "false"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n',
      ['ISTIO_META_DNS_AUTO_ALLOCATE'],
      [{ key: 'ISTIO_META_DNS_CAPTURE', value: 'false' }],
    ],
    [
      'YAML: our value already there for one key',
      "proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: 'true'\n",
      AGENT,
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: \'true\'\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n',
      ['ISTIO_META_DNS_AUTO_ALLOCATE'],
      [],
    ],
    [
      'JSON: auto-allocate off, capture missing',
      '{"proxyMetadata":{"ISTIO_META_DNS_AUTO_ALLOCATE":"false"}}',
      AGENT,
      '{"proxyMetadata":{"ISTIO_META_DNS_AUTO_ALLOCATE":"false","ISTIO_META_DNS_CAPTURE":"true"}}',
      ['ISTIO_META_DNS_CAPTURE'],
      [{ key: 'ISTIO_META_DNS_AUTO_ALLOCATE', value: 'false' }],
    ],
  ])('%s', (_name, existing, wanted, expected, added, kept) => {
    const result = changed(mergeProxyMetadata(existing, wanted));
    expect(result.text).toBe(expected);
    expect(result.added).toEqual(added);
    expect(result.kept).toEqual(kept);
    expect(mergeProxyMetadata(result.text, wanted)).toEqual({ kind: 'unchanged', kept });
  });

  it.each([
    [
      'both keys with our values (already mutated)',
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n',
      AGENT,
      [],
    ],
    [
      'both keys set by the owner',
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "false"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "TRUE"\n',
      AGENT,
      [
        { key: 'ISTIO_META_DNS_CAPTURE', value: 'false' },
        { key: 'ISTIO_META_DNS_AUTO_ALLOCATE', value: 'TRUE' },
      ],
    ],
    [
      'controller mode ignores the auto-allocate key',
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n',
      CONTROLLER,
      [],
    ],
    [
      'JSON already mutated',
      '{"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true","ISTIO_META_DNS_AUTO_ALLOCATE":"true"}}',
      AGENT,
      [],
    ],
    ['a block scalar value is a string', 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: |-\n    true\n', CONTROLLER, []],
    [
      'an explicit !!str tag is a string',
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: !!str yes\n',
      CONTROLLER,
      [{ key: 'ISTIO_META_DNS_CAPTURE', value: 'yes' }],
    ],
    [
      'an alias to a quoted string is that string',
      'x: &on "true"\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: *on\n',
      CONTROLLER,
      [],
    ],
  ])('unchanged: %s', (_name, existing, wanted, kept) => {
    expect(mergeProxyMetadata(existing, wanted)).toEqual({ kind: 'unchanged', kept });
  });
});

describe('mergeProxyMetadata refuses annotations it cannot edit safely', () => {
  it.each([
    [
      'YAML that does not parse',
      'holdApplicationUntilProxyStarts: true\n  tracing: {}\n',
      'cannot be parsed (line 1, column 34: Nested mappings are not allowed in…)',
    ],
    [
      'a tab used as indentation',
      'proxyMetadata:\n  A: "1"\n\tB: "2"\n',
      'cannot be parsed (line 3, column 1: Tabs are not allowed as indentation)',
    ],
    [
      'an unterminated quote',
      'concurrency: 2\nx: "unterminated\n',
      'cannot be parsed (line 3, column 1: Missing closing "quote)',
    ],
    [
      'JSON with a missing comma',
      '{\n  "concurrency": 2\n  "proxyMetadata": {}\n}',
      "is not valid JSON (line 3, column 3: Expected ',' or '}' after property…)",
    ],
    [
      'JSON with a trailing comma that YAML reads',
      '{"proxyMetadata": ["a"],}',
      'has proxyMetadata as a list, not a mapping',
    ],
    [
      'a YAML flow mapping that is no JSON either',
      '{a: [}',
      'cannot be parsed (line 1, column 6: Flow sequence in block collection m…)',
    ],
    [
      'two YAML documents',
      'concurrency: 2\n---\nproxyMetadata: {}\n',
      'holds more than one YAML document (line 2, column 1)',
    ],
    [
      'a duplicate key in YAML',
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_CAPTURE: "false"\n',
      'has duplicate key "ISTIO_META_DNS_CAPTURE" (line 3, column 3)',
    ],
    [
      'a duplicate key in JSON, which JSON.parse would hide',
      '{"proxyMetadata":{"A":"1","A":"2"}}',
      'has duplicate key "A" (line 1, column 27)',
    ],
    ['a YAML list', '- holdApplicationUntilProxyStarts: true\n', 'is a list, not a mapping'],
    ['a YAML string', 'holdApplicationUntilProxyStarts', 'is a string, not a mapping'],
    ['a YAML number', '42', 'is a number, not a mapping'],
    ['a JSON array', '[{"concurrency": 2}]', 'is a list, not a mapping'],
    [
      'proxyMetadata as a list',
      'proxyMetadata:\n  - ISTIO_META_DNS_CAPTURE=true\n',
      'has proxyMetadata as a list, not a mapping',
    ],
    [
      'proxyMetadata as a string',
      'proxyMetadata: ISTIO_META_DNS_CAPTURE=true\n',
      'has proxyMetadata as a string, not a mapping',
    ],
    [
      'JSON proxyMetadata as a list',
      '{"proxyMetadata":["ISTIO_META_DNS_CAPTURE"]}',
      'has proxyMetadata as a list, not a mapping',
    ],
    ['JSON proxyMetadata as a string', '{"proxyMetadata":"x"}', 'has proxyMetadata as a string, not a mapping'],
    [
      'an unquoted YAML boolean',
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: true\n',
      'sets proxyMetadata.ISTIO_META_DNS_CAPTURE to unquoted true; Istio needs a quoted string',
    ],
    [
      'a YAML 1.1 boolean Istio reads as such',
      'proxyMetadata:\n  ISTIO_META_DNS_AUTO_ALLOCATE: off\n',
      'sets proxyMetadata.ISTIO_META_DNS_AUTO_ALLOCATE to unquoted off; Istio needs a quoted string',
    ],
    [
      'an unquoted number on another key',
      'proxyMetadata:\n  ISTIO_META_IDLE_TIMEOUT: 30\n',
      'sets proxyMetadata.ISTIO_META_IDLE_TIMEOUT to unquoted 30; Istio needs a quoted string',
    ],
    [
      'a nested mapping value',
      'proxyMetadata:\n  X: {a: b}\n',
      'sets proxyMetadata.X to a mapping; Istio needs a quoted string',
    ],
    [
      'a JSON boolean',
      '{"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":true}}',
      'sets proxyMetadata.ISTIO_META_DNS_CAPTURE to unquoted true; Istio needs a quoted string',
    ],
    // YAML 1.1, as Istio reads it: a merge key, a Unicode line break, a %YAML directive for another version.
    [
      'a merge key bringing proxyMetadata',
      '<<: {proxyMetadata: {ISTIO_META_DNS_CAPTURE: "false", OTHER_KEY: "keep-me"}}\n',
      'uses a YAML merge key << (line 1, column 1), which egress-guard does not edit',
    ],
    [
      'a merge key inside proxyMetadata',
      'm: &m {A: "1"}\nproxyMetadata:\n  <<: *m\n',
      'uses a YAML merge key << (line 3, column 3), which egress-guard does not edit',
    ],
    [
      'a comment ended by U+2028',
      '# note\u2028proxyMetadata: {ISTIO_META_DNS_CAPTURE: "false"}',
      "has U+2028 (line 1, column 7), a line break to Istio's YAML 1.1 reader",
    ],
    [
      'U+0085 in JSON',
      '{"proxyMetadata":{"A":"a\u0085b"}}',
      "has U+0085 (line 1, column 25), a line break to Istio's YAML 1.1 reader",
    ],
    [
      'an empty document ended by ...',
      '\n...\n',
      'is an empty document ended by ..., which egress-guard does not edit',
    ],
    [
      'a %YAML 1.2 directive',
      '%YAML 1.2\n---\nproxyMetadata: {}\n',
      "declares %YAML 1.2, which Istio's YAML 1.1 reader refuses",
    ],
    [
      'a JSON list value',
      '{"proxyMetadata":{"X":["a"]}}',
      'sets proxyMetadata.X to a list; Istio needs a quoted string',
    ],
    [
      'a non-scalar key',
      'proxyMetadata:\n  [a]: b\n',
      'has a proxyMetadata key that is not a plain string (line 2, column 3)',
    ],
    [
      'proxyMetadata through an alias',
      'base: &meta {A: "1"}\nproxyMetadata: *meta\n',
      'has proxyMetadata as alias *meta, which egress-guard does not edit',
    ],
  ])('%s', (_name, existing, problem) => {
    expect(mergeProxyMetadata(existing, AGENT)).toEqual({ kind: 'invalid', problem });
  });

  it.each([
    ['an empty YAML value', 'proxyMetadata:\n  BOOTSTRAP_XDS_AGENT:\n'],
    ['a YAML ~', 'proxyMetadata: {BOOTSTRAP_XDS_AGENT: ~}'],
    ['a JSON null', '{"proxyMetadata":{"BOOTSTRAP_XDS_AGENT":null}}'],
  ])('reads %s as "", as Istio does, and adds our keys beside it', (_name, existing) => {
    const result = mergeProxyMetadata(existing, AGENT);
    expect(result).toMatchObject({
      kind: 'changed',
      added: ['ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE'],
    });
    // Our own key set to null is the owner's "" (false to the agent), kept.
    expect(mergeProxyMetadata('proxyMetadata: {ISTIO_META_DNS_CAPTURE: null}', AGENT)).toEqual({
      kind: 'changed',
      text: expect.any(String),
      kept: [{ key: 'ISTIO_META_DNS_CAPTURE', value: '' }],
      added: ['ISTIO_META_DNS_AUTO_ALLOCATE'],
    });
  });

  it('types plain values by go-yaml v2 rules under a %YAML 1.1 directive too', () => {
    // The yaml package reads 2001-01-01 as a date there; Istio reads the string.
    expect(mergeProxyMetadata('%YAML 1.1\n---\nproxyMetadata: {OTHER_KEY: 2001-01-01}\n', AGENT).kind).toBe('changed');
    // And a merge key there is still a merge key.
    expect(mergeProxyMetadata('%YAML 1.1\n---\n<<: {proxyMetadata: {A: "1"}}\n', AGENT)).toEqual({
      kind: 'invalid',
      problem: 'uses a YAML merge key << (line 3, column 1), which egress-guard does not edit',
    });
  });

  it('clips long parser messages but keeps the position', () => {
    const result = mergeProxyMetadata('a: b: c\n', AGENT);
    expect(result).toEqual({
      kind: 'invalid',
      problem: expect.stringMatching(/^cannot be parsed \(line 1, column 4: .{1,35}…\)$/),
    });
  });

  it('refuses deep nesting before the yaml composer sees it (it would abort the process)', () => {
    const deepFlow = `a: ${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}`;
    expect(mergeProxyMetadata(deepFlow, AGENT)).toEqual({
      kind: 'invalid',
      problem: `nests collections more than ${MAX_NESTING} levels deep`,
    });
    // Just inside the limit is still read (the top-level mapping is one level).
    const allowed = `a: ${'['.repeat(MAX_NESTING - 1)}${']'.repeat(MAX_NESTING - 1)}`;
    expect(mergeProxyMetadata(allowed, AGENT).kind).toBe('changed');
    // These crash node outright when composed: explicit keys, block sequences, unterminated flow.
    for (const hostile of ['? '.repeat(20_000), '- '.repeat(100_000), `a: ${'['.repeat(130_000)}`]) {
      // Refused by the linear pre-scan (nesting on one line, or too many flow collections) before any parser runs.
      expect(mergeProxyMetadata(hostile, AGENT)).toEqual({
        kind: 'invalid',
        problem: expect.stringMatching(
          new RegExp(`^(nests collections more than ${MAX_NESTING} levels deep|opens more than 512 flow collections)`),
        ),
      });
    }
  });

  it('refuses thousands of entries before the quadratic duplicate-key check sees them', () => {
    const keys = (count: number) =>
      `proxyMetadata:\n${Array.from({ length: count }, (_, i) => `  K${i}: "v"\n`).join('')}`;
    // One map of MAX_ENTRIES keys plus the top-level entry.
    expect(mergeProxyMetadata(keys(MAX_ENTRIES), AGENT)).toEqual({
      kind: 'invalid',
      problem: expect.stringMatching(new RegExp(`more than the ${MAX_ENTRIES} (entries )?egress-guard edits$`)),
    });
    expect(mergeProxyMetadata(keys(MAX_ENTRIES - 1), AGENT).kind).toBe('changed');
    expect(mergeProxyMetadata(keys(19_000), AGENT).kind).toBe('invalid');
  });

  it('refuses annotations larger than Kubernetes allows', () => {
    const huge = `proxyMetadata:\n  BIG: "${'x'.repeat(256 * 1024)}"\n`;
    expect(mergeProxyMetadata(huge, AGENT)).toEqual({
      kind: 'invalid',
      problem: 'is 257 KiB, over the 256 KiB Kubernetes allows for annotations',
    });
  });
});
