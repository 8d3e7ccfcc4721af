// The yaml package re-prints a document with its own indentation; these read the original's so that the
// edited annotation differs from the owner's text only by the lines egress-guard adds.
import { isCollection, visit, type Document } from 'yaml';

export interface YamlLayout {
  indent: number;
  indentSeq: boolean;
  flowCollectionPadding: boolean;
}

export const DEFAULT_LAYOUT: YamlLayout = { indent: 2, indentSeq: true, flowCollectionPadding: true };
// `key:` alone on its line (a trailing comment allowed): the next content line shows the nesting step.
const PARENT_KEY_LINE = /^( *)[^\s#-][^#]*:[ \t]*(?:#.*)?$/;
const CONTENT_LINE = /^( *)([^\s#])/;

export function detectLayout(text: string, doc: Document): YamlLayout {
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length && (indent === undefined || indentSeq === undefined); index++) {
    const parent = PARENT_KEY_LINE.exec(lines[index] ?? '');
    if (parent === null) continue;
    const child = nextContentLine(lines, index + 1);
    if (child === undefined) continue;
    const parentIndent = parent[1]?.length ?? 0;
    const childIndent = child[1]?.length ?? 0;
    if (child[2] === '-') indentSeq ??= childIndent > parentIndent;
    else if (childIndent > parentIndent) indent ??= Math.min(childIndent - parentIndent, 8);
  }
  return {
    indent: indent ?? DEFAULT_LAYOUT.indent,
    indentSeq: indentSeq ?? DEFAULT_LAYOUT.indentSeq,
    flowCollectionPadding: flowPadding(text, doc) ?? DEFAULT_LAYOUT.flowCollectionPadding,
  };
}

function nextContentLine(lines: readonly string[], from: number): RegExpExecArray | undefined {
  for (let index = from; index < lines.length; index++) {
    const match = CONTENT_LINE.exec(lines[index] ?? '');
    if (match !== null) return match;
  }
  return undefined;
}

/** `{ a: 1 }` or `{a: 1}`, judged by the first non-empty flow collection. */
function flowPadding(text: string, doc: Document): boolean | undefined {
  let padded: boolean | undefined;
  visit(doc, {
    Node(_, node) {
      if (isCollection(node) && node.flow === true && node.items.length > 0 && node.range) {
        padded = /\s/.test(text.charAt(node.range[0] + 1));
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return padded;
}
