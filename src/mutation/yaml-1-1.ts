// Where Istio's reader of proxy.istio.io/config (sigs.k8s.io/yaml: go-yaml v2, YAML 1.1) sees a different
// annotation than the yaml package (YAML 1.2) does. egress-guard leaves such texts alone rather than guess.
import { isPair, isScalar, Scalar, visit, type Document } from 'yaml';
import { position } from './config-document.js';

// YAML 1.1 counts NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR as line breaks; YAML 1.2 reads them as text. A
// comment they end, or a quoted value they fold, reads differently to Istio.
const UNICODE_LINE_BREAK = /[\u0085\u2028\u2029]/;
const MERGE_TAG = 'tag:yaml.org,2002:merge';

/** A character Istio reads as a line break and we do not: JSON or YAML alike, Istio parses it as YAML. */
export function unicodeLineBreakProblem(text: string): string | undefined {
  const found = UNICODE_LINE_BREAK.exec(text);
  if (found === null) return undefined;
  const code = `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return `has ${code} (${position(text, found.index)}), a line break to Istio's YAML 1.1 reader`;
}

/**
 * A merge key (`<<`): Istio merges the mapping it names, so keys egress-guard would add can override merged ones
 * (a proxyMetadata brought in by `<<` is replaced by the one we add).
 */
export function mergeKeyProblem(doc: Document, text: string): string | undefined {
  let at: number | undefined;
  visit(doc, {
    Pair(_, pair) {
      const key = isPair(pair) ? pair.key : undefined;
      if (!isScalar(key)) return undefined;
      // Under a %YAML 1.1 directive the yaml package makes the key's value a symbol; its source stays `<<`.
      const plainMerge =
        key.type === Scalar.PLAIN && key.tag === undefined && (key.value === '<<' || key.source === '<<');
      if (!plainMerge && key.tag !== MERGE_TAG) return undefined;
      at = key.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  if (at === undefined) return undefined;
  return `uses a YAML merge key << (${position(text, at)}), which egress-guard does not edit`;
}

/** go-yaml v2 refuses a %YAML directive for any version but 1.1 ("found incompatible YAML document"). */
export function yamlDirectiveProblem(doc: Document): string | undefined {
  const yaml = doc.directives?.yaml;
  if (yaml?.explicit !== true || yaml.version === '1.1') return undefined;
  return `declares %YAML ${yaml.version}, which Istio's YAML 1.1 reader refuses`;
}
