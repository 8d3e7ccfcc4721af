// 100,000 ServiceEntries: indexing stays quick and a lookup touches only the entries for its host.
import { describe, expect, it } from '@jest/globals';
import type { ServiceEntryView } from '../istio/service-entry.js';
import { HostIndex } from './host-index.js';

const COUNT = 100_000;

/** Small views built directly: toServiceEntryView is tested elsewhere and would dominate the run time. */
function smallEntry(i: number): ServiceEntryView {
  return {
    namespace: `team-${i % 500}`,
    name: `egress-${i}`,
    hosts: [{ host: `api-${i}.partner-${i % 1000}.example.com`, path: 'spec.hosts[0]' }],
    ports: [{ number: 443, protocol: 'TLS', name: 'https', path: 'spec.ports[0]' }],
    resolution: 'DNS',
    addresses: [],
    endpointCount: 0,
    // Every tenth entry is private to its namespace.
    exportTo: i % 10 === 0 ? ['.'] : [],
    labels: Object.create(null),
    annotations: Object.create(null),
  };
}

describe('HostIndex at 100,000 ServiceEntries', () => {
  const index = new HostIndex();
  const started = performance.now();
  index.replaceAll(
    (function* () {
      for (let i = 0; i < COUNT; i++) yield smallEntry(i);
      // One host shared by three entries, the case the cross-object rules care about.
      for (const name of ['shared-a', 'shared-b', 'shared-c'])
        yield {
          ...smallEntry(0),
          namespace: 'shop',
          name,
          hosts: [{ host: 'shared.example.com', path: 'spec.hosts[0]' }],
        };
    })(),
    [],
  );
  const indexingMs = performance.now() - started;

  it('indexes them all within a couple of seconds', () => {
    expect(index.serviceEntryCount).toBe(COUNT + 3);
    expect(indexingMs).toBeLessThan(2_500);
  });

  it('finds exactly the entries of a host, exportTo respected', () => {
    const view = index.viewFor();
    expect(
      view.serviceEntriesForHost('api-4242.partner-242.example.com', 'anywhere').map((entry) => entry.name),
    ).toEqual(['egress-4242']);
    expect(view.serviceEntriesForHost('api-4240.partner-240.example.com', 'anywhere')).toEqual([]);
    expect(
      view.serviceEntriesForHost('api-4240.partner-240.example.com', 'team-240').map((entry) => entry.name),
    ).toEqual(['egress-4240']);
    expect(view.serviceEntriesForHost('shared.example.com', 'shop').map((entry) => entry.name)).toEqual([
      'shared-a',
      'shared-b',
      'shared-c',
    ]);
  });

  it('answers 10,000 lookups in far less time than one scan per lookup would take', () => {
    const view = index.viewFor();
    const started = performance.now();
    let found = 0;
    for (let i = 0; i < 10_000; i++) {
      const n = (i * 7919) % COUNT;
      found += view.serviceEntriesForHost(`api-${n}.partner-${n % 1000}.example.com`, `team-${n % 500}`).length;
    }
    // A scan of every entry per lookup is 10^9 steps (many seconds); hashing is a few milliseconds.
    expect(performance.now() - started).toBeLessThan(500);
    expect(found).toBe(10_000);
  });
});
