// Bounds on annotation text before it reaches the yaml composer. The composer recurses once per nested
// collection, and deep enough nesting (`? ? ? ...` or `[[[...` a few thousand levels deep, a few KiB of
// text) does not just throw: V8 aborts the whole process. A pod owner must not be able to crash the webhook.
import { Parser, type CST } from 'yaml';

/** Kubernetes rejects a pod whose annotations together exceed this; mutating admission runs before that check. */
export const MAX_ANNOTATION_BYTES = 256 * 1024;
/** A ProxyConfig nests 4 or 5 levels; this leaves ample room and stays far below what the composer survives. */
export const MAX_NESTING = 64;
/**
 * A ProxyConfig has a few dozen entries. The composer's duplicate-key check is quadratic in a map's size
 * (seconds of blocked event loop within the body limit), so thousands of entries are refused before composing.
 */
export const MAX_ENTRIES = 2000;
/**
 * The linear pre-scan's bound on the characters that can open a collection or an entry. It counts them inside quotes
 * and comments too, so it may only overcount; a ProxyConfig has a few dozen.
 */
export const MAX_INDICATORS = MAX_ENTRIES;
/** `[` and `{` anywhere in the text: a ProxyConfig has a few; this bounds flow nesting, the parser's costliest. */
export const MAX_FLOW_COLLECTIONS = 512;

/** Why `text` is refused before parsing, or undefined when it is safe to parse. */
export function inputLimitProblem(text: string): string | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_ANNOTATION_BYTES)
    return `is ${Math.ceil(bytes / 1024)} KiB, over the 256 KiB Kubernetes allows for annotations`;
  // The yaml Parser's time grows faster than the text with nesting (262,000 `{` took it 2-3 s): count first.
  const counted = indicatorsIn(text);
  if (counted.flowOpeners > MAX_FLOW_COLLECTIONS)
    return `opens more than ${MAX_FLOW_COLLECTIONS} flow collections ([ or {)`;
  if (counted.compactOnOneLine > MAX_NESTING) return `nests collections more than ${MAX_NESTING} levels deep`;
  if (counted.all > MAX_INDICATORS)
    return `has more than ${MAX_INDICATORS} collection or entry indicators, more than the ${MAX_ENTRIES} entries egress-guard edits`;
  const { depth, entries } = shapeOf(text);
  if (depth > MAX_NESTING) return `nests collections more than ${MAX_NESTING} levels deep`;
  if (entries > MAX_ENTRIES) return `has ${entries} entries, more than the ${MAX_ENTRIES} egress-guard edits`;
  return undefined;
}

/**
 * One pass counting every character that can open a collection or start an entry: `[`, `{`, `,`, and `-`, `?` or `:`
 * followed by a space, a line break or the end. Each entry and each nesting level has at least one, so the counts
 * bound both: flow openers bound flow nesting, and the most `-` or `?` on one line bounds compact block nesting
 * (`- - - x`); nesting by indentation costs a column per level.
 */
function indicatorsIn(text: string): { all: number; flowOpeners: number; compactOnOneLine: number } {
  let all = 0;
  let flowOpeners = 0;
  let compactOnOneLine = 0;
  let compactOnThisLine = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === 0x5b || char === 0x7b) {
      flowOpeners++;
      all++;
    } else if (char === 0x2c) all++;
    else if (char === 0x0a) compactOnThisLine = 0;
    else if (char === 0x2d || char === 0x3f || char === 0x3a) {
      const next = text.charCodeAt(index + 1);
      if (Number.isNaN(next) || next === 0x20 || next === 0x0a || next === 0x0d || next === 0x09) {
        all++;
        if (char !== 0x3a) compactOnOneLine = Math.max(compactOnOneLine, ++compactOnThisLine);
      }
    }
  }
  return { all, flowOpeners, compactOnOneLine };
}

/**
 * Deepest collection nesting and the number of collection entries, measured on the CST: the yaml Parser keeps
 * its own stack, and so does this walk.
 */
function shapeOf(text: string): { depth: number; entries: number } {
  let deepest = 0;
  let entries = 0;
  const pending: Array<[CST.Token | null | undefined, number]> = [];
  for (const token of new Parser().parse(text)) pending.push([token, 0]);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [token, depth] = next;
    if (token === null || token === undefined) continue;
    switch (token.type) {
      case 'document':
        pending.push([token.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        deepest = Math.max(deepest, depth + 1);
        entries += token.items.length;
        for (const item of token.items) pending.push([item.key, depth + 1], [item.value, depth + 1]);
        break;
      default:
        break;
    }
  }
  return { depth: deepest, entries };
}
