// A linear scan of an AdmissionReview body before JSON.parse: V8's parser takes time and memory by a body's shape,
// not only its size (empty objects cost about twenty times their bytes in heap, distinct keys build a hidden class
// each, deep nesting both), so a body is refused by its nesting and its number of values before it is parsed.

/** A Pod or ServiceEntry review nests about fifteen levels, managedFields included. */
export const MAX_JSON_DEPTH = 64;
/**
 * JSON values in one body, counted as collections opened plus items separated. A large real review (a pod with
 * a hundred containers of fifty env entries each, managedFields included) has about twenty thousand.
 */
export const MAX_JSON_VALUES = 100_000;
/**
 * Different object keys in one body. V8 builds a hidden class per new key, the costliest thing JSON.parse does
 * (49,000 one-key objects with distinct keys took it 0.2-0.5 s); a review's keys are field names plus its labels and
 * annotations (twice, with managedFields): a few hundred.
 */
export const MAX_DISTINCT_KEYS = 5_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Why `text` is refused before parsing, or undefined. Strings are skipped with indexOf, so the loop visits only the
 * characters between them. Text that is not JSON passes here and is refused by JSON.parse.
 */
export function bodyShapeProblem(text: string): string | undefined {
  let depth = 0;
  let values = 0;
  const keys = new Set<string>();
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === QUOTE) {
      const open = index;
      index = closingQuote(text, index);
      if (index < 0) return undefined;
      if (isKey(text, index + 1)) {
        keys.add(text.slice(open + 1, index));
        if (keys.size > MAX_DISTINCT_KEYS)
          return `it has more than ${MAX_DISTINCT_KEYS.toLocaleString('en-US')} different object keys`;
      }
    } else if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      values++;
      if (++depth > MAX_JSON_DEPTH) return `it nests more than ${MAX_JSON_DEPTH} levels deep`;
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      depth--;
    } else if (char === COMMA && ++values > MAX_JSON_VALUES) {
      return `it holds more than ${MAX_JSON_VALUES.toLocaleString('en-US')} JSON values`;
    }
    if (values > MAX_JSON_VALUES) return `it holds more than ${MAX_JSON_VALUES.toLocaleString('en-US')} JSON values`;
  }
  return undefined;
}

/** Whether the string that ended just before `from` is an object key: a colon follows, after any whitespace. */
function isKey(text: string, from: number): boolean {
  for (let index = from; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === COLON) return true;
    if (char !== 0x20 && char !== 0x0a && char !== 0x0d && char !== 0x09) return false;
  }
  return false;
}

/** The index of the quote that ends the string opened at `open`, or -1 when it never ends. */
function closingQuote(text: string, open: number): number {
  let quote = text.indexOf('"', open + 1);
  while (quote >= 0) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    quote = text.indexOf('"', quote + 1);
  }
  return -1;
}
