import { describe, expect, it } from '@jest/globals';
import { firstThatFits, shortList } from './short-list.js';

describe('shortList', () => {
  it.each<[(string | number)[], number, string | undefined, string]>([
    [['shop/a', 'shop/b'], 2, undefined, 'shop/a, shop/b'],
    [['shop/a', 'shop/b', 'shop/c'], 2, undefined, 'shop/a, shop/b (+1 more)'],
    [[80, 443, 8443, 9444], 2, ',', '80,443 (+2 more)'],
    [[], 2, undefined, ''],
  ])('%j, at most %i -> %j', (items, max, separator, expected) => {
    expect(shortList(items, max, separator)).toBe(expected);
  });
});

describe('firstThatFits', () => {
  const long = 'x'.repeat(120);
  it.each([
    ['the first when it fits', ['short', 'shorter'], 'short'],
    ['the next one under 120 characters', [long, 'x'.repeat(119), 'x'], 'x'.repeat(119)],
    ['the last when none fits', [long, `${long}!`], `${long}!`],
  ])('picks %s', (_case, renderings, expected) => {
    expect(firstThatFits(renderings)).toBe(expected);
  });
});
