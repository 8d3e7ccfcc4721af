import { describe, expect, it } from '@jest/globals';
import { SERVICE_ENTRY_LIST_LIMITS, serviceEntryLimitProblem } from './serviceentry-limits.js';

const items = (count: number) => Array.from({ length: count }, (_, index) => `h${index}.example.com`);

describe('serviceEntryLimitProblem', () => {
  it.each(Object.entries(SERVICE_ENTRY_LIST_LIMITS))(
    'accepts spec.%s at its limit of %i and names it past it',
    (field, limit) => {
      expect(serviceEntryLimitProblem({ spec: { hosts: ['a.example.com'], [field]: items(limit) } })).toBeUndefined();
      expect(serviceEntryLimitProblem({ spec: { [field]: items(limit + 1) } })).toBe(
        `spec.${field} has ${limit + 1} items; at most ${limit} are reviewed`,
      );
    },
  );

  it.each([
    ['no object', undefined],
    ['no spec', { metadata: {} }],
    ['a spec that is a string', { spec: 'x' }],
    ['a list field that is not a list', { spec: { hosts: 'a.example.com' } }],
  ])('leaves %s to the rules, which read it defensively', (_name, object) => {
    expect(serviceEntryLimitProblem(object)).toBeUndefined();
  });
});
