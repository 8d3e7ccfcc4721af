import { describe, expect, it } from '@jest/globals';
import { bodyShapeProblem, MAX_DISTINCT_KEYS, MAX_JSON_DEPTH, MAX_JSON_VALUES } from './body-shape.js';

describe('bodyShapeProblem', () => {
  it('passes a review-like body', () => {
    const body = JSON.stringify({ request: { uid: 'u', object: { metadata: { labels: { a: 'b' } }, spec: [1, 2] } } });
    expect(bodyShapeProblem(body)).toBeUndefined();
  });

  it('refuses nesting one level past the limit, and counts none inside strings', () => {
    expect(bodyShapeProblem(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).toBeUndefined();
    expect(bodyShapeProblem(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`)).toBe(
      `it nests more than ${MAX_JSON_DEPTH} levels deep`,
    );
    expect(bodyShapeProblem(JSON.stringify({ a: '['.repeat(10_000) }))).toBeUndefined();
  });

  it('refuses more values than the limit, and counts none inside strings', () => {
    expect(bodyShapeProblem(`[${'0,'.repeat(MAX_JSON_VALUES - 2)}0]`)).toBeUndefined();
    expect(bodyShapeProblem(`[${'0,'.repeat(MAX_JSON_VALUES)}0]`)).toBe('it holds more than 100,000 JSON values');
    expect(bodyShapeProblem(JSON.stringify([','.repeat(MAX_JSON_VALUES * 2)]))).toBeUndefined();
  });

  it('refuses more distinct keys than the limit, however often the same keys repeat', () => {
    const distinct = (count: number) =>
      JSON.stringify(Array.from({ length: count }, (_, index) => ({ [`k${index}`]: 0 })));
    expect(bodyShapeProblem(distinct(MAX_DISTINCT_KEYS))).toBeUndefined();
    expect(bodyShapeProblem(distinct(MAX_DISTINCT_KEYS + 1))).toBe('it has more than 5,000 different object keys');
    expect(
      bodyShapeProblem(JSON.stringify(Array.from({ length: 20_000 }, () => ({ name: 'a', value: 'b' })))),
    ).toBeUndefined();
  });

  it('ends a string only at an unescaped quote', () => {
    // The escaped quotes hide brackets that would otherwise count as nesting.
    const text = JSON.stringify({ a: `\\"${'['.repeat(100)}\\\\"` });
    expect(bodyShapeProblem(text)).toBeUndefined();
    expect(bodyShapeProblem(`["\\\\"${',['.repeat(MAX_JSON_DEPTH + 1)}`)).toBe(
      `it nests more than ${MAX_JSON_DEPTH} levels deep`,
    );
  });
});
