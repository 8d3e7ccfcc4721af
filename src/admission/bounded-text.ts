// Text made from a review's values for logs and messages: bounded in length and depth, whatever the value's shape.
// A review's strings can be megabytes and its values nested a hundred thousand deep; JSON.stringify of such a value
// throws (stack overflow) or copies it all.

/** Kubernetes names (DNS subdomains) are at most 253 characters; nothing a log line names needs more. */
export const MAX_LOGGED_TEXT = 253;
/** How deep describeValue looks into arrays and objects before writing `…`. */
export const MAX_DESCRIBED_DEPTH = 4;
/** How many items or fields of one array or object describeValue shows. */
const MAX_DESCRIBED_ITEMS = 8;

/** `text` cut to `max` characters, an ellipsis showing the cut. */
export function clipped(text: string, max: number = MAX_LOGGED_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A JSON-like description of `value` of at most `max` characters: strings clipped, at most MAX_DESCRIBED_ITEMS
 * items of each collection and MAX_DESCRIBED_DEPTH levels shown. Never throws and never walks more than it shows.
 */
export function describeValue(value: unknown, max: number = 60): string {
  const out: string[] = [];
  let length = 0;
  // Stops every walk as soon as the text is long enough: the work is bounded by `max`, not by the value.
  const emit = (part: string): boolean => {
    out.push(part);
    length += part.length;
    return length <= max;
  };
  const walk = (item: unknown, depth: number): boolean => {
    if (item === undefined) return emit('missing');
    if (item === null || typeof item === 'boolean' || typeof item === 'number') return emit(String(item));
    if (typeof item === 'string') return emit(JSON.stringify(clipped(item, max)));
    if (typeof item !== 'object') return emit(typeof item);
    const isArray = Array.isArray(item);
    if (depth >= MAX_DESCRIBED_DEPTH) return emit(isArray ? '[…]' : '{…}');
    const keys = isArray ? undefined : Object.keys(item);
    const count = isArray ? item.length : keys!.length;
    if (!emit(isArray ? '[' : '{')) return false;
    for (let index = 0; index < Math.min(count, MAX_DESCRIBED_ITEMS); index++) {
      if (index > 0 && !emit(',')) return false;
      if (isArray) {
        if (!walk(item[index], depth + 1)) return false;
      } else {
        const key = keys![index]!;
        if (!emit(`${JSON.stringify(clipped(key, max))}:`)) return false;
        if (!walk((item as Record<string, unknown>)[key], depth + 1)) return false;
      }
    }
    if (count > MAX_DESCRIBED_ITEMS && !emit(',…')) return false;
    return emit(isArray ? ']' : '}');
  };
  walk(value, 0);
  const text = out.join('');
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** A value a log line shows in a name's place: strings clipped, anything else described in as many characters. */
export function loggedText(value: unknown): string {
  return typeof value === 'string' ? clipped(value) : describeValue(value, MAX_LOGGED_TEXT);
}
