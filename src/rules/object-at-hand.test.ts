import { describe, expect, it } from '@jest/globals';
import { exampleAuto, serviceEntry } from '../../test/fixtures/service-entries.js';
import { objectAtHandView } from './object-at-hand.js';

describe('objectAtHandView', () => {
  const entry = serviceEntry(exampleAuto, {
    spec: { hosts: ['example.com', 'api.example.com'], exportTo: ['.', 'team-a'] },
  });
  const view = objectAtHandView(entry);

  it.each([
    ['a declared host from its own namespace', 'example.com', 'default', 1],
    ['the second declared host', 'api.example.com', 'default', 1],
    ['a host in another case', 'Example.COM', 'default', 1],
    ['a namespace it is exported to', 'example.com', 'team-a', 1],
    ['a namespace it is not exported to', 'example.com', 'team-b', 0],
    ['a host it does not declare', 'other.example.com', 'default', 0],
  ])('answers for %s', (_case, host, namespace, count) => {
    const found = view.serviceEntriesForHost(host, namespace);
    expect(found).toHaveLength(count);
    for (const item of found) expect(item).toBe(entry);
  });

  it('is never stale: it knows everything it claims to', () => {
    expect(view.stale).toBe(false);
  });

  it("has 'object' scope and knows no DestinationRule, so absence-based rules stay silent", () => {
    expect(view.scope).toBe('object');
    expect(view.destinationRulesForHost('example.com', 'default')).toEqual([]);
    expect(view.destinationRulesForHost('example.com')).toEqual([]);
  });
});
