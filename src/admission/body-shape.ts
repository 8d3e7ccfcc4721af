// A linear scan of an AdmissionReview body before JSON.parse: V8's parser takes time and memory by a body's shape,
// not only its size (empty objects cost about twenty times their bytes in heap, distinct keys build a hidden class
// each, deep nesting both), so a body is refused by its nesting and its number of values before it is parsed.

/** A Pod or ServiceEntry review nests about fifteen levels, managedFields included. */
export const MAX_JSON_DEPTH = 64;
/**
 * JSON values in one body, counted as collections opened plus items separated. A large real review (a pod with
 * hundreds of containers and env entries) has tens of thousands.
 */
export const MAX_JSON_VALUES = 250_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Why `text` is refused before parsing, or undefined. Strings are skipped with indexOf, so the loop visits only the
 * characters between them. Text that is not JSON passes here and is refused by JSON.parse.
 */
export function bodyShapeProblem(text: string): string | undefined {
  let depth = 0;
  let values = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === QUOTE) {
      index = closingQuote(text, index);
      if (index < 0) return undefined;
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
