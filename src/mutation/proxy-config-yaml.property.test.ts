// Properties of the YAML editor over generated documents full of block scalars whose text starts with spaces (what
// Helm's toYaml writes as `|2`), indented by 2 to 8: every value comes back exactly, and the text only gains our lines.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parse, parseDocument } from 'yaml';
import { mergeProxyMetadata } from './proxy-config.js';

const WANTED = {
  agent: { ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' },
  controller: { ISTIO_META_DNS_CAPTURE: 'true' },
} as const;
const OUR_LINE = /^ *(?:ISTIO_META_DNS_CAPTURE|ISTIO_META_DNS_AUTO_ALLOCATE): "true"$/;
const OUR_FLOW_ENTRIES = /, ISTIO_META_DNS_CAPTURE: "true"(?:, ISTIO_META_DNS_AUTO_ALLOCATE: "true")?/;

// ---------------------------------------------------------------------------------------------------------------
// A small YAML writer that gets indentation indicators right at any indentation (the yaml package's does not).

interface BlockString {
  kind: 'block';
  value: string;
  folded: boolean;
  /** Write the indentation indicator even when the text does not need one. */
  indicatorAlways: boolean;
  /** `|-2` rather than `|2-`. */
  chompFirst: boolean;
}
type Value =
  | BlockString
  | { kind: 'plain'; value: string }
  | { kind: 'map'; entries: Array<[string, Value]> }
  | { kind: 'list'; items: BlockString[] };

const word = fc.stringMatching(/^[a-z][a-z0-9 #:'"./-]{0,10}$/).map((text) => text.trimEnd());
const contentLine = fc
  .tuple(fc.integer({ min: 0, max: 4 }), word)
  .map(([spaces, text]) => `${' '.repeat(spaces)}${text}`);

const blockString: fc.Arbitrary<BlockString> = fc
  .record({
    leadingSpaces: fc.integer({ min: 1, max: 5 }),
    leadingEmptyLine: fc.boolean(),
    first: word,
    more: fc.array(fc.oneof(contentLine, fc.constant('')), { maxLength: 3 }),
    trailingNewlines: fc.integer({ min: 0, max: 3 }),
    folded: fc.boolean(),
    startsWithText: fc.integer({ min: 0, max: 5 }),
    indicatorAlways: fc.boolean(),
    chompFirst: fc.boolean(),
  })
  .map(
    ({
      leadingSpaces,
      leadingEmptyLine,
      first,
      more,
      trailingNewlines,
      folded,
      startsWithText,
      indicatorAlways,
      chompFirst,
    }) => {
      // Mostly text that starts with spaces; now and then text that does not, for contrast.
      const spaces = startsWithText === 0 ? 0 : leadingSpaces;
      // Folded scalars fold line breaks; one line of text reads the same either way, which keeps the model simple.
      const lines = folded ? [`${' '.repeat(spaces)}${first}`] : [`${' '.repeat(spaces)}${first}`, ...more];
      // The last line must hold text: trailing empty lines are what the chomping indicator governs.
      while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
      const lead = leadingEmptyLine && !folded ? '\n' : '';
      return {
        kind: 'block',
        value: `${lead}${lines.join('\n')}${'\n'.repeat(trailingNewlines)}`,
        folded,
        indicatorAlways,
        chompFirst,
      };
    },
  );

const plain: fc.Arbitrary<Value> = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/).map((value) => ({ kind: 'plain', value }));
const key = fc.constantFrom(
  'tracing',
  'custom',
  'value',
  'literal',
  'team',
  'concurrency',
  'a',
  'b',
  'x_1',
  'GRPC_XDS_BOOTSTRAP',
);

const value: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    blockString,
    plain,
    fc
      .uniqueArray(fc.tuple(key, tie('value')), { selector: ([name]) => name, minLength: 1, maxLength: 3 })
      .map((entries): Value => ({ kind: 'map', entries })),
    fc.array(blockString, { minLength: 1, maxLength: 2 }).map((items): Value => ({ kind: 'list', items })),
  ),
})).value;

type Metadata =
  | { kind: 'absent' }
  | { kind: 'empty'; comment: boolean }
  | { kind: 'block'; entries: Array<[string, BlockString | string]> }
  | { kind: 'flow'; entries: Array<[string, string]> };

const metadataKey = fc.constantFrom('GRPC_XDS_BOOTSTRAP', 'ISTIO_META_OTHER', 'A', 'b_2');
const metadata: fc.Arbitrary<Metadata> = fc.oneof(
  fc.constant<Metadata>({ kind: 'absent' }),
  fc.boolean().map((comment): Metadata => ({ kind: 'empty', comment })),
  fc
    .uniqueArray(fc.tuple(metadataKey, fc.oneof(blockString, word)), {
      selector: ([name]) => name,
      minLength: 1,
      maxLength: 3,
    })
    .map((entries): Metadata => ({ kind: 'block', entries })),
  fc
    .uniqueArray(fc.tuple(metadataKey, word), { selector: ([name]) => name, minLength: 1, maxLength: 3 })
    .map((entries): Metadata => ({ kind: 'flow', entries })),
);

const documentModel = fc.record({
  step: fc.constantFrom(2, 3, 4, 5, 8),
  indentSeq: fc.boolean(),
  others: fc.uniqueArray(fc.tuple(key, value), { selector: ([name]) => name, maxLength: 4 }),
  metadata,
  metadataAt: fc.nat(),
  mode: fc.constantFrom('agent' as const, 'controller' as const),
});

/** The block scalar's header and lines; its content sits at `column`, `indicator` columns right of its parent's. */
function blockLines(block: BlockString, indicator: number, column: number): [string, string[]] {
  const trailing = /\n*$/.exec(block.value)?.[0].length ?? 0;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const needsIndicator = /^\n* /.test(block.value);
  const digit = needsIndicator || block.indicatorAlways ? String(indicator) : '';
  const header = `${block.folded ? '>' : '|'}${block.chompFirst ? chomp + digit : digit + chomp}`;
  const body = block.value.slice(0, block.value.length - trailing).split('\n');
  const lines = body.map((line) => (line === '' ? '' : `${' '.repeat(column)}${line}`));
  // Keep chomping: every newline after the last line of text is an empty line.
  for (let extra = 1; extra < trailing; extra++) lines.push('');
  return [header, lines];
}

function writeEntries(entries: Array<[string, Value]>, column: number, step: number, indentSeq: boolean): string[] {
  const lines: string[] = [];
  const at = ' '.repeat(column);
  for (const [name, entry] of entries) {
    switch (entry.kind) {
      case 'block': {
        const [header, body] = blockLines(entry, step, column + step);
        lines.push(`${at}${name}: ${header}`, ...body);
        break;
      }
      case 'plain':
        lines.push(`${at}${name}: ${entry.value}`);
        break;
      case 'map':
        lines.push(`${at}${name}:`, ...writeEntries(entry.entries, column + step, step, indentSeq));
        break;
      case 'list': {
        lines.push(`${at}${name}:`);
        const dash = indentSeq ? column + step : column;
        // A list item's block scalar is indented relative to its `-`.
        for (const item of entry.items) {
          const [header, body] = blockLines(item, 2, dash + 2);
          lines.push(`${' '.repeat(dash)}- ${header}`, ...body);
        }
        break;
      }
    }
  }
  return lines;
}

function toJs(entry: Value): unknown {
  switch (entry.kind) {
    case 'block':
    case 'plain':
      return entry.value;
    case 'map':
      return Object.fromEntries(entry.entries.map(([name, inner]) => [name, toJs(inner)]));
    case 'list':
      return entry.items.map((item) => item.value);
  }
}

type DocumentModel = typeof documentModel extends fc.Arbitrary<infer T> ? T : never;

function writeDocument(model: DocumentModel): { text: string; config: Record<string, unknown> } {
  const { step, indentSeq, others, metadata: meta } = model;
  const config: Record<string, unknown> = {};
  const blocks: string[][] = others.map(([name, entry]) => {
    config[name] = toJs(entry);
    return writeEntries([[name, entry]], 0, step, indentSeq);
  });
  let metadataLines: string[] | undefined;
  let metadataValue: Record<string, string> | null | undefined;
  switch (meta.kind) {
    case 'absent':
      break;
    case 'empty':
      metadataLines = [meta.comment ? 'proxyMetadata: # filled in by CI' : 'proxyMetadata:'];
      metadataValue = null;
      break;
    case 'block':
      metadataLines = ['proxyMetadata:'];
      for (const [name, entry] of meta.entries) {
        if (typeof entry === 'string') metadataLines.push(`${' '.repeat(step)}${name}: ${JSON.stringify(entry)}`);
        else {
          const [header, body] = blockLines(entry, step, 2 * step);
          metadataLines.push(`${' '.repeat(step)}${name}: ${header}`, ...body);
        }
      }
      metadataValue = Object.fromEntries(
        meta.entries.map(([name, entry]) => [name, typeof entry === 'string' ? entry : entry.value]),
      );
      break;
    case 'flow':
      metadataLines = [
        `proxyMetadata: {${meta.entries.map(([name, entry]) => `${name}: ${JSON.stringify(entry)}`).join(', ')}}`,
      ];
      metadataValue = Object.fromEntries(meta.entries);
      break;
  }
  if (metadataLines !== undefined) {
    const at = model.metadataAt % (blocks.length + 1);
    blocks.splice(at, 0, metadataLines);
    // Key order as written, for the model too.
    const ordered = Object.entries(config);
    ordered.splice(at, 0, ['proxyMetadata', metadataValue]);
    return { text: `${blocks.flat().join('\n')}\n`, config: Object.fromEntries(ordered) };
  }
  return { text: blocks.length === 0 ? '' : `${blocks.flat().join('\n')}\n`, config };
}

describe('the YAML editor and block scalars (properties)', () => {
  it('keeps every value exactly and adds only our lines, at any indentation', () => {
    let printerWouldShift = 0;
    fc.assert(
      fc.property(documentModel, (model) => {
        const { text, config } = writeDocument(model);
        // The writer above is right: the text reads as the model.
        expect(parseDocument(text).errors).toEqual([]);
        expect(parse(text) ?? {}).toEqual(config);
        // What the old editor did (re-print at the document's indentation) loses leading spaces here and there.
        if (
          JSON.stringify(parse(parseDocument(text).toString({ indent: model.step, lineWidth: 0 }))) !==
          JSON.stringify(parse(text))
        )
          printerWouldShift++;

        const wanted = WANTED[model.mode];
        const result = mergeProxyMetadata(text, wanted);
        if (result.kind !== 'changed')
          throw new Error(`expected a change for ${JSON.stringify(text)}, got ${JSON.stringify(result)}`);
        const metadataBefore = (config.proxyMetadata ?? {}) as Record<string, string>;
        const expected =
          'proxyMetadata' in config
            ? { ...config, proxyMetadata: { ...metadataBefore, ...wanted } }
            : { ...config, proxyMetadata: { ...wanted } };
        expect(parse(result.text)).toEqual(expected);

        // Byte for byte what the owner wrote, once our lines (or flow entries) are taken out again.
        const ourText =
          model.metadata.kind === 'flow'
            ? result.text.replace(OUR_FLOW_ENTRIES, '')
            : result.text
                .split('\n')
                .filter(
                  (line) => !OUR_LINE.test(line) && !(model.metadata.kind === 'absent' && line === 'proxyMetadata:'),
                )
                .join('\n');
        expect(ourText).toBe(text);

        expect(mergeProxyMetadata(result.text, wanted)).toEqual({ kind: 'unchanged', kept: [] });
      }),
      { numRuns: 500 },
    );
    // Otherwise this property would not be testing the case it is about.
    expect(printerWouldShift).toBeGreaterThan(20);
  });
});
