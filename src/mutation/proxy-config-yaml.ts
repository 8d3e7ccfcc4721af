// proxy.istio.io/config written as YAML is edited as a yaml Document, not as plain objects, so that
// comments, key order, quoting and flow/block style survive, and only our keys are added.
import { Pair, Scalar, YAMLMap, isAlias, isMap, isNode, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import {
  position,
  problem,
  proxyMetadataNotMapping,
  proxyMetadataValueNotString,
  unquoted,
  type OpenResult,
} from './config-document.js';
import { goYamlPlainScalarType } from './go-yaml-scalars.js';
import { clip, describeJsonType } from './json-shape.js';
import { detectLayout } from './yaml-layout.js';
import { yamlErrorProblem } from './yaml-problems.js';

export function openYamlConfig(text: string): OpenResult {
  // Typed as a plain Document (not Document.Parsed): we add nodes the parser did not make.
  const doc: Document = parseDocument(text, { prettyErrors: false });
  const error = doc.errors[0];
  if (error !== undefined) return { ok: false, problem: yamlErrorProblem(error, doc, text), syntax: true };

  const root = doc.contents;
  // Nothing, only comments, or `null`: Istio reads an empty ProxyConfig, and so do we.
  const rootIsEmpty = root === null || (isScalar(root) && root.value === null);
  if (!rootIsEmpty && !isMap(root)) return problem(`is ${describeNode(root, doc)}, not a mapping`);

  const metadataPair = isMap(root) ? root.items.find((pair) => isScalar(pair.key) && pair.key.value === 'proxyMetadata') : undefined;
  const metadataNode = metadataPair?.value;
  // `proxyMetadata:` with nothing after it is unset to Istio; a template that rendered no entries writes that.
  const metadataIsEmpty = metadataNode === undefined || metadataNode === null || (isScalar(metadataNode) && metadataNode.value === null);
  if (isAlias(metadataNode)) {
    // Adding keys through an alias would edit the anchored node, wherever else it is used.
    return problem(`has proxyMetadata as alias *${clip(metadataNode.source, 24)}, which egress-guard does not edit`);
  }
  if (!metadataIsEmpty && !isMap(metadataNode)) return proxyMetadataNotMapping(describeNode(metadataNode, doc));
  const metadataMap = isMap(metadataNode) ? metadataNode : undefined;

  const proxyMetadata = new Map<string, string>();
  for (const pair of metadataMap?.items ?? []) {
    const key = pair.key;
    if (!isScalar(key) || key.value === null) {
      const at = (isNode(key) ? key.range?.[0] : undefined) ?? metadataMap?.range?.[0] ?? 0;
      return problem(`has a proxyMetadata key that is not a plain string (${position(text, at)})`);
    }
    const name = String(key.value);
    const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
    const stringValue = istioString(value);
    if (stringValue === undefined) return proxyMetadataValueNotString(name, describeValue(value, doc));
    proxyMetadata.set(name, stringValue);
  }

  return {
    ok: true,
    config: {
      proxyMetadata,
      write(additions) {
        const target = metadataMap ?? new YAMLMap();
        for (const [key, value] of additions) target.add(new Pair(new Scalar(key), quoted(value)));
        if (metadataMap === undefined) {
          if (metadataPair !== undefined) {
            // Keep the owner's comment from `proxyMetadata: # ...` above the entries that replace the null.
            if (isScalar(metadataNode) && metadataNode.comment) target.commentBefore = metadataNode.comment;
            metadataPair.value = target;
          } else if (isMap(root)) {
            root.add(new Pair(new Scalar('proxyMetadata'), target));
          } else {
            const fresh = new YAMLMap();
            fresh.add(new Pair(new Scalar('proxyMetadata'), target));
            doc.contents = fresh;
          }
        }
        return render(doc, text);
      },
    },
  };
}

/** "true", double-quoted: Istio rejects an unquoted true in proxyMetadata (map<string,string>). */
function quoted(value: string): Scalar<string> {
  const scalar = new Scalar(value);
  scalar.type = Scalar.QUOTE_DOUBLE;
  return scalar;
}

/** The value as Istio's go-yaml reads it, when that is a string. */
function istioString(node: unknown): string | undefined {
  if (!isScalar(node) || typeof node.value !== 'string') return undefined;
  // A plain `yes` is a string to YAML 1.2 but a boolean to Istio; an explicit `!!str yes` is a string to both.
  if (node.type === Scalar.PLAIN && node.tag === undefined && goYamlPlainScalarType(node.source ?? node.value) !== 'string') {
    return undefined;
  }
  return node.value;
}

function describeValue(node: unknown, doc: Document): string {
  if (isScalar(node) && node.value !== null && node.type === Scalar.PLAIN) return unquoted(node.source ?? String(node.value));
  return describeNode(node, doc);
}

function describeNode(node: unknown, doc: Document): string {
  if (isScalar(node)) return describeJsonType(node.value);
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return describeNode(node.resolve(doc), doc);
  return 'null';
}

function render(doc: Document, original: string): string {
  const text = doc.toString({ ...detectLayout(original, doc), lineWidth: 0 });
  // A one-line annotation stays without a final newline; block-scalar annotations (`|`) keep theirs.
  return original.trim() !== '' && !original.endsWith('\n') ? text.replace(/\n$/, '') : text;
}
