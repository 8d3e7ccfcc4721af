import { describe, expect, it } from '@jest/globals';
import { exampleAuto, fakeCluster, serviceEntry } from '../../test/fixtures/service-entries.js';
import type { IpAllocator } from '../istio/version.js';
import { clientNamespaces, entriesUsedWith, isAutoAllocated } from './sidecar-view.js';

const OPT_OUT = 'networking.istio.io/enable-autoallocate-ip';
const entry = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) =>
  serviceEntry(exampleAuto, { spec, metadata });

describe('isAutoAllocated', () => {
  // [case, spec, labels, host, istiod allocator, legacy allocator]
  // istiod: shouldV2AutoAllocateIPFromPieces (pilot/pkg/networking/serviceentry/ip_autoallocation.go) and keepHost
  // (pilot/pkg/controllers/ipallocate/ipallocate.go); legacy: autoAllocateIPs
  // (pilot/pkg/serviceregistry/serviceentry/auto_allocation.go).
  it.each<[string, Record<string, unknown>, Record<string, string>, string, boolean, boolean]>([
    ['DNS, concrete host', {}, {}, 'example.com', true, true],
    ['STATIC, concrete host', { resolution: 'STATIC' }, {}, 'example.com', true, true],
    ['NONE', { resolution: 'NONE' }, {}, 'example.com', false, false],
    ['spec.addresses', { addresses: ['10.0.0.1'] }, {}, 'example.com', false, false],
    ['opt-out label', {}, { [OPT_OUT]: 'false' }, 'example.com', false, true],
    ['opt-out label in another case', {}, { [OPT_OUT]: 'FALSE' }, 'example.com', false, true],
    ['label true', {}, { [OPT_OUT]: 'true' }, 'example.com', true, true],
    ['wildcard with DNS', {}, {}, '*.example.com', false, false],
    ['wildcard with DYNAMIC_DNS', { resolution: 'DYNAMIC_DNS' }, {}, '*.example.com', true, false],
  ])('%s', (_case, spec, labels, host, istiod, legacy) => {
    const view = entry({ hosts: [host], ...spec }, { labels });
    const allocated = (allocator: IpAllocator) => isAutoAllocated(view, host, allocator);
    expect([allocated('istiod'), allocated('legacy')]).toEqual([istiod, legacy]);
  });
});

describe('clientNamespaces', () => {
  it.each<[unknown, string[]]>([
    [undefined, ['default']],
    [['*'], ['default']],
    [['.'], ['default']],
    [['default', 'shop'], ['default']],
    [
      ['shop', 'team-a', 'shop'],
      ['shop', 'team-a'],
    ],
    [['~'], []],
  ])('exportTo %j', (exportTo, clients) => {
    expect(clientNamespaces(entry({ exportTo }))).toEqual(clients);
  });
});

describe('entriesUsedWith', () => {
  // pilot/pkg/model/sidecar.go selectServices: one namespace per host name, the client's own first.
  const reviewed = entry();
  const sameNamespace = entry({}, { name: 'web' });
  const elsewhere = entry({}, { name: 'web', namespace: 'team-a' });
  const names = (used: ReturnType<typeof entriesUsedWith>) =>
    used?.map((view) => `${view.namespace}/${view.name}`) ?? 'not used';

  it.each<[string, string, ReturnType<typeof entry>[], string[] | string]>([
    ['own namespace: its other entries', 'default', [reviewed, sameNamespace, elsewhere], ['default/web']],
    ['own namespace: alone', 'default', [reviewed, elsewhere], []],
    ['own namespace: the stored version of itself is not another', 'default', [entry(), elsewhere], []],
    ['a client namespace with an entry of its own does not use it', 'team-a', [reviewed, elsewhere], 'not used'],
    [
      'a client namespace without one: the entry and its neighbours',
      'shop',
      [reviewed, sameNamespace],
      ['default/web'],
    ],
  ])('%s', (_case, client, entries, expected) => {
    expect(names(entriesUsedWith(reviewed, 'example.com', client, fakeCluster(entries)))).toEqual(expected);
  });
});
