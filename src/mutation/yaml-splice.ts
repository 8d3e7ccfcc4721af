// Adds our proxyMetadata entries to the owner's YAML by inserting lines (or, in a flow mapping, entries) into the
// text, instead of re-printing the document: every byte the owner wrote stays as written, so comments, quoting,
// block scalars and their indentation indicators cannot change. The yaml package's printer does not always give
// back what it read: it writes `|2` for a block scalar whose text starts with spaces whatever the document's
// indentation, and at 4 spaces that adds two spaces to the value. Two edits besides ours: the `~` or `null` of an
// empty proxyMetadata goes, and a block scalar that ended the text without a line break is made `-` (yaml-final-line).
//
// Positions come from the parsed nodes' source ranges and the CST (parse with keepSourceTokens). Undefined means
// this text is not one the splice handles; the caller then re-prints. The result is checked by merge-check either way.
import { isMap, isNode, isScalar, Scalar, type Pair, type YAMLMap } from 'yaml';
import { goYamlPlainScalarType } from './go-yaml-scalars.js';
import { PROXY_METADATA } from './merge-check.js';
import { unterminatedBlockScalar, withStripChomping } from './yaml-final-line.js';
import type { YamlLayout } from './yaml-layout.js';

export type Entries = ReadonlyArray<readonly [string, string]>;

/** What may follow the end of a node on its line when lines are inserted after it: spaces, tabs, a comment. */
const REST_OF_LINE = /^[ \t]*(?:#[^\n]*)?\r?$/;
// A key written plain only when no YAML reader can take it for anything but a string.
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
// Not printable in YAML (or a line break to YAML 1.1 readers such as Istio's go-yaml): escaped in what we write.
const UNPRINTABLE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

/**
 * `text` with `additions` appended to the proxyMetadata mapping of `root` (the document's mapping), or with a
 * proxyMetadata mapping of them where it was null (`proxyMetadata:`, `~`) or absent (added as the last key).
 */
export function spliceProxyMetadata(
  text: string,
  root: YAMLMap,
  metadataPair: Pair | undefined,
  additions: Entries,
  layout: YamlLayout,
): string | undefined {
  const spliced = spliceInto(text, root, metadataPair, additions, layout);
  if (spliced === undefined || !spliced.startsWith(text)) return spliced;
  // Appended after a block scalar that ended the text without a line break: Istio would read one into it now.
  const last = unterminatedBlockScalar(root, text);
  return last === undefined ? spliced : withStripChomping(spliced, last);
}

function spliceInto(
  text: string,
  root: YAMLMap,
  metadataPair: Pair | undefined,
  additions: Entries,
  layout: YamlLayout,
): string | undefined {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const rootJson = firstKeyDoubleQuoted(root) ?? false;
  if (metadataPair === undefined) {
    if (root.flow)
      return appendToFlowMap(
        text,
        root,
        [`${keyText(PROXY_METADATA, rootJson)}: ${flowMapText(additions, layout, rootJson)}`],
        layout,
      );
    const indent = blockIndent(root);
    if (indent === undefined) return undefined;
    return appendToBlockMap(
      text,
      root,
      [`${' '.repeat(indent)}${PROXY_METADATA}:`, ...entryLines(additions, indent + layout.indent)],
      eol,
    );
  }

  const metadata = metadataPair.value;
  if (isMap(metadata)) {
    const json = firstKeyDoubleQuoted(metadata) ?? rootJson;
    if (metadata.flow)
      return appendToFlowMap(
        text,
        metadata,
        additions.map((entry) => entryText(entry, json)),
        layout,
      );
    const indent = blockIndent(metadata);
    if (indent === undefined) return undefined;
    return appendToBlockMap(text, metadata, entryLines(additions, indent), eol);
  }

  // `proxyMetadata:` with nothing, `~` or `null`: the null goes, the mapping comes. A null with a tag or an anchor
  // is left to the re-print, which replaces the whole node.
  if (!isScalar(metadata) || metadata.value !== null || metadata.anchor !== undefined || metadata.tag !== undefined)
    return undefined;
  const range = metadata.range;
  if (range === undefined || range === null) return undefined;
  const [start, end, nodeEnd] = range;
  if (root.flow) {
    const space = /[\s{,]/.test(text.charAt(start - 1)) ? '' : ' ';
    return `${text.slice(0, start)}${space}${flowMapText(additions, layout, rootJson)}${text.slice(end)}`;
  }
  const indent = blockIndent(root);
  const at = lineEnd(text, nodeEnd);
  if (indent === undefined || at === undefined || at < end) return undefined;
  // `proxyMetadata: ~ # note` keeps its note: `proxyMetadata: # note`.
  let from = start;
  while (end > start && from > 0 && (text[from - 1] === ' ' || text[from - 1] === '\t')) from--;
  const kept = `${text.slice(0, from)}${text.slice(end, at)}`;
  return insertLines(kept, kept.length, entryLines(additions, indent + layout.indent), eol) + text.slice(at);
}

/** Double-quoted keys are JSON written as YAML, or a team's habit: ours follow. Undefined for an empty mapping. */
function firstKeyDoubleQuoted(map: YAMLMap): boolean | undefined {
  const first = map.items[0];
  if (first === undefined) return undefined;
  return isScalar(first.key) && first.key.type === Scalar.QUOTE_DOUBLE;
}

/** The column of a block mapping's keys, from its CST token. */
function blockIndent(map: YAMLMap): number | undefined {
  const token = map.srcToken;
  return token?.type === 'block-map' ? token.indent : undefined;
}

/** After the last line of a block mapping: its range ends after the last value, its comment and a keep-chomped block scalar's blank lines. */
function appendToBlockMap(text: string, map: YAMLMap, lines: string[], eol: string): string | undefined {
  const end = map.range?.[2];
  const at = end === undefined ? undefined : lineEnd(text, end);
  return at === undefined ? undefined : insertLines(text, at, lines, eol);
}

/** Right after the last entry's value (before any `,`, comment or `}`), or inside an empty `{}`. */
function appendToFlowMap(text: string, map: YAMLMap, entries: string[], layout: YamlLayout): string | undefined {
  const token = map.srcToken;
  if (token?.type !== 'flow-collection') return undefined;
  const last = map.items[map.items.length - 1];
  if (last !== undefined) {
    const node = isNode(last.value) ? last.value : isNode(last.key) ? last.key : undefined;
    const at = node?.range?.[1];
    if (at === undefined) return undefined;
    return `${text.slice(0, at)}, ${entries.join(', ')}${text.slice(at)}`;
  }
  const open = token.start.offset + 1;
  const close = token.end.find((end) => end.source === '}')?.offset;
  // `{ # comment` and other empty mappings that span lines are left to the re-print.
  if (close === undefined || !/^[ \t]*$/.test(text.slice(open, close))) return undefined;
  const pad = layout.flowCollectionPadding ? ' ' : '';
  return `${text.slice(0, open)}${pad}${entries.join(', ')}${pad}${text.slice(close)}`;
}

/** The start of the line after `offset`, or the end of the text; undefined when more than a comment follows on its line. */
function lineEnd(text: string, offset: number): number | undefined {
  if (offset === 0 || text[offset - 1] === '\n') return offset;
  const newline = text.indexOf('\n', offset);
  const at = newline === -1 ? text.length : newline + 1;
  return REST_OF_LINE.test(text.slice(offset, newline === -1 ? text.length : newline)) ? at : undefined;
}

/** `lines` at the start of a line `at`; at the end of a text without a final newline, still without one. */
function insertLines(text: string, at: number, lines: string[], eol: string): string {
  const block = lines.join(eol);
  if (at === text.length && text !== '' && !text.endsWith('\n')) return `${text}${eol}${block}`;
  return `${text.slice(0, at)}${block}${eol}${text.slice(at)}`;
}

function entryLines(additions: Entries, indent: number): string[] {
  return additions.map((entry) => `${' '.repeat(indent)}${entryText(entry, false)}`);
}

function flowMapText(additions: Entries, layout: YamlLayout, json: boolean): string {
  const pad = layout.flowCollectionPadding ? ' ' : '';
  return `{${pad}${additions.map((entry) => entryText(entry, json)).join(', ')}${pad}}`;
}

function entryText([key, value]: readonly [string, string], json: boolean): string {
  return `${keyText(key, json)}: ${quotedText(value)}`;
}

/** Plain when that is safe (and the mapping is not written with double-quoted keys), double-quoted otherwise. */
export function writesKeyPlain(key: string): boolean {
  return PLAIN_KEY.test(key) && goYamlPlainScalarType(key) === 'string';
}

function keyText(key: string, json: boolean): string {
  return !json && writesKeyPlain(key) ? key : quotedText(key);
}

/** A double-quoted YAML string on one line; JSON's escapes are YAML's too, so it is valid JSON as well. */
function quotedText(value: string): string {
  return JSON.stringify(value).replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
