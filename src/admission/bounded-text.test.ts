import { describe, expect, it } from '@jest/globals';
import { clipped, describeValue, loggedText, MAX_LOGGED_TEXT } from './bounded-text.js';

/** `[[[…]]]` nested `depth` levels, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = [];
  for (let level = 1; level < depth; level++) value = [value];
  return value;
}

describe('describeValue', () => {
  it.each<[string, unknown, string]>([
    ['missing', undefined, 'missing'],
    ['a string', 'Pod', '"Pod"'],
    ['a number', 7, '7'],
    ['null', null, 'null'],
    ['a small object', { a: 1, b: [true] }, '{"a":1,"b":[true]}'],
    ['an array of more than eight items', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], '[1,2,3,4,5,6,7,8,…]'],
    ['a deep array', nested(10), '[[[[[…]]]]]'],
  ])('describes %s as JSON would, within its bounds', (_name, value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });

  it('describes a value nested 100,000 levels deep without throwing (JSON.stringify overflows the stack)', () => {
    const deep = nested(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(describeValue(deep)).toBe('[[[[[…]]]]]');
  });

  it('never goes past its length, whatever the value holds', () => {
    const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, index) => [`key${index}`, 'v'.repeat(1000)]));
    for (const value of [wide, 'x'.repeat(1_000_000), [wide, wide], { a: { b: { c: 'y'.repeat(500) } } }]) {
      for (const max of [20, 60, 253]) expect(describeValue(value, max).length).toBeLessThanOrEqual(max);
    }
  });
});

describe('clipped and loggedText', () => {
  it('keeps a Kubernetes name whole and cuts a longer text to 253 characters, the cut marked', () => {
    const name = 'a'.repeat(253);
    expect(clipped(name)).toBe(name);
    const long = clipped('b'.repeat(6 * 1024 * 1024));
    expect(long).toHaveLength(MAX_LOGGED_TEXT);
    expect(long.endsWith('…')).toBe(true);
  });

  it('describes a value that is not a string in at most 253 characters', () => {
    expect(loggedText({ name: 'x'.repeat(10_000) }).length).toBeLessThanOrEqual(MAX_LOGGED_TEXT);
    expect(loggedText(nested(50_000))).toBe('[[[[[…]]]]]');
  });
});
