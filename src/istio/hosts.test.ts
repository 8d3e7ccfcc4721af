import { describe, expect, it } from '@jest/globals';
import { isWildcardHost, normalizeHost, sameHost } from './hosts.js';

describe('isWildcardHost', () => {
  it.each([
    ['*', true],
    ['*.oss-cn-shanghai.aliyuncs.com', true],
    ['*foo.com', true],
    // istiod reads only the first character; elsewhere `*` is an invalid host, not a wildcard.
    ['api.*.example.com', false],
    ['example.*', false],
    ['oss-cn-shanghai.aliyuncs.com', false],
    ['example.com', false],
    ['', false],
  ])('%j -> %s', (host, wildcard) => {
    expect(isWildcardHost(host)).toBe(wildcard);
  });
});

describe('sameHost', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['Example.COM', 'example.com', true],
    ['example.com.', 'example.com', true],
    ['api.example.com', 'example.com', false],
    ['*.example.com', 'api.example.com', false],
  ])('%j vs %j -> %s', (a, b, same) => {
    expect(sameHost(a, b)).toBe(same);
  });

  it('normalizes to lower case without the root dot', () => {
    expect(normalizeHost(' API.Example.com. ')).toBe('api.example.com');
  });
});
