import { describe, expect, it } from '@jest/globals';
import { describeJsonType, field, isJsonObject } from './json.js';

describe('isJsonObject', () => {
  it('accepts mappings only', () => {
    expect(isJsonObject({})).toBe(true);
    expect(isJsonObject(Object.create(null))).toBe(true);
    for (const value of [null, undefined, [], 'x', 1, true]) expect(isJsonObject(value)).toBe(false);
  });
});

describe('field', () => {
  it('reads own properties, never inherited ones', () => {
    expect(field({ a: 1 }, 'a')).toBe(1);
    expect(field({}, 'constructor')).toBeUndefined();
    expect(field({}, '__proto__')).toBeUndefined();
    expect(field(JSON.parse('{"__proto__": 5}'), '__proto__')).toBe(5);
    expect(field(Object.create({ inherited: 1 }), 'inherited')).toBeUndefined();
  });

  it('is undefined for anything that is not a mapping', () => {
    for (const value of [null, undefined, ['a'], 'abc', 3]) expect(field(value, '0')).toBeUndefined();
  });
});

describe('describeJsonType', () => {
  it('names the type of a value for messages', () => {
    expect([null, [], {}, undefined, 'x', 1, true].map(describeJsonType)).toEqual([
      'null',
      'a list',
      'a mapping',
      'missing',
      'a string',
      'a number',
      'a boolean',
    ]);
  });
});
