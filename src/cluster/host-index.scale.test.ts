// 100,000 ServiceEntries: every one is indexed and a lookup finds exactly the entries for its host. How long that
// takes is the bench's to report (test/bench/index-cost.ts), not a unit test's to judge.
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
  it('indexes them all', () => {
    expect(index.serviceEntryCount).toBe(COUNT + 3);
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

  it('finds the one entry of each of 10,000 hosts', () => {
    const view = index.viewFor();
    let found = 0;
    for (let i = 0; i < 10_000; i++) {
      const n = (i * 7919) % COUNT;
      found += view.serviceEntriesForHost(`api-${n}.partner-${n % 1000}.example.com`, `team-${n % 500}`).length;
    }
    expect(found).toBe(10_000);
  });
});
