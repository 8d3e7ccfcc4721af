// proxy.istio.io/config written as YAML is read as a yaml Document, not as plain objects, and edited by inserting
// our entries into the owner's text (yaml-splice), so that comments, key order, quoting, block scalars and flow/block
// style survive byte for byte, and only our keys are added. Texts the splice does not handle are edited as a
// Document and re-printed. Either way merge-check reads the result back before it is used.
import {
  Pair,
  Scalar,
  YAMLMap,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  type Document,
  type ToStringOptions,
} from 'yaml';
import {
  position,
  problem,
  proxyMetadataNotMapping,
  proxyMetadataValueNotString,
  unquoted,
  type OpenResult,
} from './config-document.js';
import { goYamlPlainScalarType } from './go-yaml-scalars.js';
import { describeJsonType } from '../json.js';
import { clip } from './json-shape.js';
import { PROXY_METADATA, readAnnotation } from './merge-check.js';
import { mergeKeyProblem, yamlDirectiveProblem } from './yaml-1-1.js';
import { isAliased, resolveAliases } from './yaml-anchors.js';
import { unterminatedBlockScalar } from './yaml-final-line.js';
import { DEFAULT_LAYOUT, detectLayout, type YamlLayout } from './yaml-layout.js';
import { yamlErrorProblem } from './yaml-problems.js';
import { spliceProxyMetadata, writesKeyPlain } from './yaml-splice.js';

export function openYamlConfig(text: string): OpenResult {
  // A plain Document (not Document.Parsed): the re-print adds nodes the parser did not make.
  const doc = readAnnotation(text);
  const error = doc.errors[0];
  if (error !== undefined) return { ok: false, problem: yamlErrorProblem(error, doc, text), syntax: true };
  const yaml11 = yamlDirectiveProblem(doc) ?? mergeKeyProblem(doc, text);
  if (yaml11 !== undefined) return problem(yaml11);

  // Istio's go-yaml rejects an alias with no anchor before it, or inside the node it names; the yaml package throws on them later.
  const aliases = resolveAliases(doc);
  if (!aliases.ok) {
    const where = aliases.reason === 'circular' ? 'inside the node it names' : 'with no anchor before it';
    return problem(
      `has alias *${clip(aliases.alias.source, 24)} ${where} (${position(text, aliases.alias.range?.[0] ?? 0)})`,
    );
  }

  const root = doc.contents;
  // Nothing, only comments, or `null`: Istio reads an empty ProxyConfig, and so do we.
  const rootIsEmpty = root === null || (isScalar(root) && root.value === null);
  // go-yaml v2 refuses an empty document ended by `...`; one we fill in it would accept: not ours to change.
  if (rootIsEmpty && /^\.\.\.(?:[ \t]|$)/m.test(text))
    return problem('is an empty document ended by ..., which egress-guard does not edit');
  if (!rootIsEmpty && !isMap(root)) return problem(`is ${describeNode(root, doc)}, not a mapping`);

  const metadataPair = isMap(root)
    ? root.items.find((pair) => isScalar(pair.key) && pair.key.value === PROXY_METADATA)
    : undefined;
  const metadataNode = metadataPair?.value;
  // `proxyMetadata:` with nothing after it is unset to Istio; a template that rendered no entries writes that.
  const metadataIsEmpty =
    metadataNode === undefined || metadataNode === null || (isScalar(metadataNode) && metadataNode.value === null);
  if (isAlias(metadataNode)) {
    // Adding keys through an alias would edit the anchored node, wherever else it is used.
    return problem(`has proxyMetadata as alias *${clip(metadataNode.source, 24)}, which egress-guard does not edit`);
  }
  if (!metadataIsEmpty && !isMap(metadataNode)) return proxyMetadataNotMapping(describeNode(metadataNode, doc));
  if (isNode(metadataNode) && metadataNode.anchor !== undefined && isAliased(aliases, metadataNode)) {
    // Our keys would show up wherever the alias is, too.
    return problem(
      `has proxyMetadata anchored as &${clip(metadataNode.anchor, 24)} and used elsewhere, which egress-guard does not edit`,
    );
  }
  const metadataMap = isMap(metadataNode) ? metadataNode : undefined;

  const proxyMetadata = new Map<string, string>();
  for (const pair of metadataMap?.items ?? []) {
    const key = pair.key;
    if (!isScalar(key) || key.value === null) {
      const at = (isNode(key) ? key.range?.[0] : undefined) ?? metadataMap?.range?.[0] ?? 0;
      return problem(`has a proxyMetadata key that is not a plain string (${position(text, at)})`);
    }
    const name = String(key.value);
    const value = isAlias(pair.value) ? aliases.targets.get(pair.value) : pair.value;
    const stringValue = istioString(value);
    if (stringValue === undefined) return proxyMetadataValueNotString(name, describeValue(value, doc));
    proxyMetadata.set(name, stringValue);
  }

  return {
    ok: true,
    config: {
      document: doc,
      proxyMetadata,
      *edits(additions) {
        const layout = detectLayout(text, doc);
        // Best: the owner's text with our lines inserted, every other byte as it was.
        if (isMap(root)) {
          const spliced = spliceProxyMetadata(text, root, metadataPair, additions, layout);
          if (spliced !== undefined) yield spliced;
        }
        // Otherwise (or if the splice did not read back right) the document is edited and re-printed: first in the
        // owner's layout, then in the yaml package's own, then with block scalars as quoted strings, the one layout
        // whose indentation cannot shift a value.
        // A block scalar that ended the text without a line break holds no final one for Istio: print it so.
        const last = unterminatedBlockScalar(doc, text);
        if (last !== undefined) last.value = last.value.slice(0, -1);
        const target = metadataMap ?? new YAMLMap();
        for (const [key, value] of additions) target.add(new Pair(keyScalar(key), quoted(value)));
        if (metadataMap === undefined) {
          if (metadataPair !== undefined) {
            // Keep the owner's comment from `proxyMetadata: # ...` above the entries that replace the null.
            if (isScalar(metadataNode) && metadataNode.comment) target.commentBefore = metadataNode.comment;
            metadataPair.value = target;
          } else if (isMap(root)) {
            root.add(new Pair(new Scalar(PROXY_METADATA), target));
          } else {
            const fresh = new YAMLMap();
            fresh.add(new Pair(new Scalar(PROXY_METADATA), target));
            doc.contents = fresh;
          }
        }
        const printed = new Set<string>();
        for (const options of [layout, DEFAULT_LAYOUT, { ...DEFAULT_LAYOUT, blockQuote: false }]) {
          const edited = render(doc, text, options);
          if (!printed.has(edited)) yield edited;
          printed.add(edited);
        }
      },
    },
  };
}

/** Plain like the owner's keys where no reader can take it for anything but a string; double-quoted otherwise. */
function keyScalar(key: string): Scalar<string> {
  const scalar = new Scalar(key);
  scalar.type = writesKeyPlain(key) ? Scalar.PLAIN : Scalar.QUOTE_DOUBLE;
  return scalar;
}

/** "true", double-quoted: Istio rejects an unquoted true in proxyMetadata (map<string,string>). */
function quoted(value: string): Scalar<string> {
  const scalar = new Scalar(value);
  scalar.type = Scalar.QUOTE_DOUBLE;
  return scalar;
}

/** The value as Istio's go-yaml reads it, when that is a string. */
function istioString(node: unknown): string | undefined {
  // A null value (`KEY:`, `~`, `null`, `{KEY}`) reaches Istio's map<string,string> as "".
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return '';
  if (!isScalar(node)) return undefined;
  // Plain scalars are typed by go-yaml v2's rules, whatever schema the yaml package used (a %YAML 1.1 directive
  // makes it read 2001-01-01 as a date, which Istio reads as the string): `yes` is a boolean to Istio, `!!str yes` not.
  if (node.type === Scalar.PLAIN && node.tag === undefined) {
    const source = node.source ?? String(node.value);
    if (goYamlPlainScalarType(source) !== 'string') return undefined;
    return typeof node.value === 'string' ? node.value : source;
  }
  return typeof node.value === 'string' ? node.value : undefined;
}

function describeValue(node: unknown, doc: Document): string {
  if (isScalar(node) && node.value !== null && node.type === Scalar.PLAIN)
    return unquoted(node.source ?? String(node.value));
  return describeNode(node, doc);
}

function describeNode(node: unknown, doc: Document): string {
  // Integers are read as bigint, so that a re-print keeps every digit.
  if (isScalar(node)) return describeJsonType(typeof node.value === 'bigint' ? 0 : node.value);
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return describeNode(node.resolve(doc), doc);
  return 'null';
}

function render(doc: Document, original: string, options: YamlLayout & Pick<ToStringOptions, 'blockQuote'>): string {
  const text = doc.toString({ ...options, lineWidth: 0 });
  // A one-line annotation stays without a final newline; block-scalar annotations (`|`) keep theirs.
  return original.trim() !== '' && !original.endsWith('\n') ? text.replace(/\n$/, '') : text;
}
