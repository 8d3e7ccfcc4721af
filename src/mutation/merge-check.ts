// The last word on an edited proxy.istio.io/config: the new text is read back and must hold exactly what the
// owner's text held, plus our proxyMetadata entries. Whatever produced the text (a splice, a re-print by the yaml
// package, JSON.stringify), a value that moved, lost a leading space or changed type is caught here, before a pod
// carries it. Both JSON and YAML are read with the yaml parser: JSON is YAML, and Istio reads the annotation as YAML.
import { Scalar, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type YAMLError } from 'yaml';
import { goYamlPlainScalarType } from './go-yaml-scalars.js';
import { isAliased, resolveAliases } from './yaml-anchors.js';
import { istioBlockValue, unterminatedBlockScalar } from './yaml-final-line.js';

export const PROXY_METADATA = 'proxyMetadata';

// intAsBigInt: a 20-digit integer printed back through a JS number would lose digits unseen.
// uniqueKeys off for the read-back: the yaml package's duplicate check is quadratic in a mapping's size (seconds at
// the largest annotation Kubernetes allows), and the original was checked for duplicates when read; a duplicate in
// the edit would be an extra pair, which the comparison turns down anyway.
const CHECK_OPTIONS = { prettyErrors: false, intAsBigInt: true, uniqueKeys: false } as const;
// keepSourceTokens: the YAML editor reads the indentation of block mappings from the CST.
const READ_OPTIONS = { prettyErrors: false, intAsBigInt: true, keepSourceTokens: true } as const;

/** The annotation as the editors read it, and as mergeCheck compares their edits against: one parse for both. */
export function readAnnotation(text: string): Document {
  return parseDocument(text, READ_OPTIONS);
}

/** What a node holds, as comparable nested arrays; see nodeShape. */
type Shape = readonly unknown[];

export type MergeCheck =
  | { ok: true; accepts: (edited: string) => boolean }
  /** The owner's text does not read cleanly, so no edit of it can be checked. */
  | { ok: false; error: YAMLError };

/**
 * The test every edited text must pass, given the owner's `text` and the Document readAnnotation made of it (not yet
 * edited: the expectation is taken now). The edited text must parse without errors, as one document, to the same tree (key
 * order, values, their types as Istio's go-yaml reads them, tags, anchors and aliases) with `additions` appended to
 * proxyMetadata. A proxyMetadata that was absent or null becomes a mapping of just the additions, added last when
 * absent. Comments and layout are not compared.
 */
export function mergeCheck(
  original: Document,
  text: string,
  additions: ReadonlyArray<readonly [string, string]>,
): MergeCheck {
  const error = original.errors[0];
  if (error !== undefined) return { ok: false, error };
  const expected = expectedShape(original, text, additions);
  const serialized = expected === undefined ? undefined : JSON.stringify(expected);
  return {
    ok: true,
    accepts(edited) {
      if (serialized === undefined) return false;
      const after = parseDocument(edited, CHECK_OPTIONS);
      if (after.errors.length > 0 || !resolveAliases(after).ok) return false;
      return JSON.stringify(shaper(after, edited)(after.contents)) === serialized;
    },
  };
}

function expectedShape(
  doc: Document,
  text: string,
  additions: ReadonlyArray<readonly [string, string]>,
): Shape | undefined {
  const added = additions.map(([key, value]) => [stringShape(key), stringShape(value)]);
  const fresh: Shape = ['map', '', '', added];
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null))
    return ['map', '', '', [[stringShape(PROXY_METADATA), fresh]]];
  // The editors refuse anything else before they write.
  if (!isMap(root)) return undefined;
  const metadata = root.items.find((pair) => isScalar(pair.key) && pair.key.value === PROXY_METADATA)?.value;
  // Aliases are compared by name, so entries added under an anchor that is aliased would pass unseen.
  const aliases = resolveAliases(doc);
  if (!aliases.ok || isAliased(aliases, metadata)) return undefined;
  const shape = shaper(doc, text);
  let found = false;
  const pairs = root.items.map((pair) => {
    if (!isScalar(pair.key) || pair.key.value !== PROXY_METADATA) return [shape(pair.key), shape(pair.value)];
    found = true;
    const metadata = pair.value;
    if (!isMap(metadata)) return [shape(pair.key), fresh];
    const [, , , entries] = shape(metadata) as [string, string, string, Shape[]];
    return [shape(pair.key), ['map', metadata.anchor ?? '', metadata.tag ?? '', [...entries, ...added]]];
  });
  if (!found) pairs.push([stringShape(PROXY_METADATA), fresh]);
  return ['map', root.anchor ?? '', root.tag ?? '', pairs];
}

/** A string as we write it: a plain key Istio reads as a string, or a double-quoted one. */
function stringShape(value: string): Shape {
  return ['scalar', '', '', 'string', value, 'string'];
}

/**
 * The tree below a node of `doc` (read from `text`). Scalars carry their value as Istio reads it (the yaml
 * package's reading, less the line break it gives a block scalar ending the text without one) and, for plain ones,
 * the type Istio's go-yaml gives them (YAML 1.1: `yes` is a boolean there), so a quoted `"yes"` that came back plain
 * would not pass. Aliases are compared by name: with the anchors in the same places, they resolve alike.
 */
function shaper(doc: Document, text: string): (node: unknown) => Shape {
  const unterminated = unterminatedBlockScalar(doc, text);
  const nodeShape = (node: unknown): Shape => {
    if (isScalar(node)) {
      const value: unknown =
        typeof node.value === 'string' ? istioBlockValue(node.value, node, unterminated) : node.value;
      const plain = node.type === Scalar.PLAIN && node.tag === undefined;
      const istio = plain
        ? goYamlPlainScalarType(node.source ?? String(value))
        : typeof value === 'string'
          ? 'string'
          : 'tagged';
      return ['scalar', node.anchor ?? '', node.tag ?? '', typeof value, scalarText(value), istio];
    }
    if (isMap(node))
      return [
        'map',
        node.anchor ?? '',
        node.tag ?? '',
        node.items.map((pair) => [nodeShape(pair.key), nodeShape(pair.value)]),
      ];
    if (isSeq(node)) return ['seq', node.anchor ?? '', node.tag ?? '', node.items.map(nodeShape)];
    if (isAlias(node)) return ['alias', node.source];
    // A pair with no value node at all (`{a}`, `? a`): null, as an empty plain scalar is.
    return ['scalar', '', '', 'object', '', 'null'];
  };
  return nodeShape;
}

function scalarText(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value === null || value === undefined) return '';
  return String(value);
}
