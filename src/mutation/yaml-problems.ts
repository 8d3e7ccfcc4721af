// Parser errors turned into short problems that point at the line and column to fix.
import { isPair, isScalar, visit, type Document, type YAMLError } from 'yaml';
import { position } from './config-document.js';
import { clip } from './json-shape.js';

// Room left for the parser's own words once the annotation name, position and outcome are said.
const PARSER_MESSAGE_MAX = 36;
const KEY_MAX = 40;

export function yamlErrorProblem(error: YAMLError, doc: Document, text: string): string {
  if (error.code === 'DUPLICATE_KEY')
    return duplicateKeyProblem(doc, text) ?? `has a duplicate key (${position(text, error.pos[0])})`;
  // Istio reads only the first document; whatever follows would be silently ignored, so say so instead.
  if (error.code === 'MULTIPLE_DOCS') return `holds more than one YAML document (${position(text, error.pos[0])})`;
  return `cannot be parsed (${position(text, error.pos[0])}: ${clip(error.message, PARSER_MESSAGE_MAX)})`;
}

/** Istio's go-yaml rejects duplicate keys anywhere in the annotation; name the first one and where it is. */
export function duplicateKeyProblem(doc: Document, text: string): string | undefined {
  const error = doc.errors.find((candidate) => candidate.code === 'DUPLICATE_KEY');
  if (error === undefined) return undefined;
  const at = error.pos[0];
  let name: string | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.range?.[0] === at) {
        name = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  const key = name === undefined ? 'a duplicate key' : `duplicate key ${JSON.stringify(clip(name, KEY_MAX))}`;
  return `has ${key} (${position(text, at)})`;
}
