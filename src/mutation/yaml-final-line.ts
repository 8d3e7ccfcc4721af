// A block scalar that ends the text without a line break (`custom: |` then `  x`, and nothing after the x): YAML 1.2
// keeps a final line break only when there is one, and Istio's go-yaml reads "x"; yaml 2.9.1 reads "x\n". Helm's
// toYaml trims the final newline, so annotations do end this way. Anything written after such a scalar gives it the
// line break it lacked, in Istio's reading, so an edit that appends must also make its chomping `-` (strip).
import { Scalar, visit, type CST, type Document, type Node } from 'yaml';

/** The block scalar that ends `text` without a line break, when the yaml package has given it one that is not there. */
export function unterminatedBlockScalar(doc: Document | Node, text: string): Scalar<string> | undefined {
  if (text === '' || /[\r\n]$/.test(text)) return undefined;
  // A last line of spaces is an empty line of the scalar: the line break before it is there.
  if (text.slice(text.lastIndexOf('\n') + 1).trim() === '') return undefined;
  let found: Scalar<string> | undefined;
  visit(doc, {
    Scalar(_, node) {
      const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
      if (!block || node.range?.[1] !== text.length || typeof node.value !== 'string' || !node.value.endsWith('\n'))
        return undefined;
      found = node as Scalar<string>;
      return visit.BREAK;
    },
  });
  return found;
}

/** What Istio reads for `node`, a scalar's value with the line break yaml added when `node` is `unterminated`. */
export function istioBlockValue(value: string, node: unknown, unterminated: Scalar<string> | undefined): string {
  return node === unterminated ? value.slice(0, -1) : value;
}

/** `text` with the header of `scalar` (parsed with keepSourceTokens) rewritten to strip chomping: `|` or `|+` to `|-`. */
export function withStripChomping(text: string, scalar: Scalar<string>): string | undefined {
  const token = scalar.srcToken;
  const header =
    token?.type === 'block-scalar'
      ? token.props.find((prop): prop is CST.SourceToken => prop.type === 'block-scalar-header')
      : undefined;
  if (header === undefined || text.slice(header.offset, header.offset + header.source.length) !== header.source)
    return undefined;
  const stripped = `${header.source.replace(/[+-]/g, '')}-`;
  return `${text.slice(0, header.offset)}${stripped}${text.slice(header.offset + header.source.length)}`;
}
