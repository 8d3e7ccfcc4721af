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

/** Why `text` is refused before parsing, or undefined when it is safe to parse. */
export function inputLimitProblem(text: string): string | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_ANNOTATION_BYTES)
    return `is ${Math.ceil(bytes / 1024)} KiB, over the 256 KiB Kubernetes allows for annotations`;
  const { depth, entries } = shapeOf(text);
  if (depth > MAX_NESTING) return `nests collections more than ${MAX_NESTING} levels deep`;
  if (entries > MAX_ENTRIES) return `has ${entries} entries, more than the ${MAX_ENTRIES} egress-guard edits`;
  return undefined;
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
