import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  DEFAULT_SETTINGS,
  destinationRule,
  exampleAuto,
  fakeCluster,
  ossDemo,
  serviceEntry,
} from '../../test/fixtures/service-entries.js';
import type { DestinationRuleView } from '../istio/destination-rule.js';
import type { ServiceEntryView } from '../istio/service-entry.js';
import { undeclaredPortsRule } from '../rules/undeclared-ports.js';
import { HostIndex } from './host-index.js';

const port = (number: number) => ({ number, name: `p${number}`, protocol: 'TCP' });
/** A ServiceEntry for example.com (seed 003) named namespace/name, with changes. */
const entry = (namespace: string, name: string, spec: Record<string, unknown> = {}) =>
  serviceEntry(exampleAuto, { metadata: { namespace, name }, spec });
const names = (found: readonly { namespace: string; name: string }[]) =>
  found.map(({ namespace, name }) => `${namespace}/${name}`);

function indexOf(entries: ServiceEntryView[], rules: DestinationRuleView[] = []): HostIndex {
  const index = new HostIndex();
  index.replaceAll(entries, rules);
  return index;
}

describe('HostIndex: ServiceEntries', () => {
  const web = entry('default', 'web', { hosts: ['example.com', 'api.example.com'] });
  const shopOnly = entry('shop', 'private', { exportTo: ['.'] });
  const other = entry('default', 'other', { hosts: ['other.example.com'] });

  it.each([
    ['a host two entries declare, from their namespace', 'example.com', 'default', ['default/web']],
    [
      'the same host from the namespace that also sees the private entry',
      'example.com',
      'shop',
      ['default/web', 'shop/private'],
    ],
    ['a host in another case, with a root dot', 'API.Example.com.', 'default', ['default/web']],
    ['a host nobody declares', 'missing.example.com', 'default', []],
  ])('finds %s', (_case, host, namespace, expected) => {
    const index = indexOf([web, shopOnly, other]);
    expect(names(index.viewFor().serviceEntriesForHost(host, namespace))).toEqual(expected);
  });

  it('indexes wildcard hosts under their literal name only', () => {
    const index = indexOf([entry('default', 'wild', { hosts: ['*.example.com'], resolution: 'NONE' })]);
    const view = index.viewFor();
    expect(names(view.serviceEntriesForHost('*.example.com', 'default'))).toEqual(['default/wild']);
    expect(view.serviceEntriesForHost('api.example.com', 'default')).toEqual([]);
  });

  it('replaces a stored entry with the same namespace/name and unindexes the hosts it dropped', () => {
    const index = indexOf([web]);
    const moved = entry('default', 'web', { hosts: ['api.example.com'] });
    index.upsertServiceEntry(moved);
    const view = index.viewFor();
    expect(view.serviceEntriesForHost('example.com', 'default')).toEqual([]);
    expect(view.serviceEntriesForHost('api.example.com', 'default')).toEqual([moved]);
    expect(index.serviceEntryCount).toBe(1);
  });

  it('deletes by namespace/name; deleting an unknown object changes nothing', () => {
    const index = indexOf([web, other]);
    index.deleteServiceEntry('default', 'web');
    index.deleteServiceEntry('default', 'never-existed');
    expect(index.viewFor().serviceEntriesForHost('example.com', 'default')).toEqual([]);
    expect([...index.serviceEntries()]).toEqual([other]);
  });

  it('replaceAll drops everything the relist no longer has', () => {
    const index = indexOf([web, other], [destinationRule()]);
    index.replaceAll([shopOnly], []);
    expect([...index.serviceEntries()]).toEqual([shopOnly]);
    expect([...index.destinationRules()]).toEqual([]);
    expect(index.viewFor().serviceEntriesForHost('api.example.com', 'default')).toEqual([]);
  });

  it('counts stored objects', () => {
    const index = indexOf([web, shopOnly, other], [destinationRule()]);
    expect([index.size, index.serviceEntryCount, index.destinationRuleCount]).toEqual([4, 3, 1]);
  });
});

describe('HostIndex.viewFor(entry): the object under review replaces its stored version', () => {
  const stored = entry('default', 'web', { hosts: ['example.com', 'old.example.com'], ports: [port(80)] });
  const index = indexOf([stored, entry('default', 'tls', { ports: [port(443)] })]);

  it('UPDATE: lookups see the new version, never the old one', () => {
    const updated = entry('default', 'web', { hosts: ['example.com', 'new.example.com'], ports: [port(8080)] });
    const view = index.viewFor(updated);
    expect(view.serviceEntriesForHost('example.com', 'default')).toEqual([
      updated,
      expect.objectContaining({ name: 'tls' }),
    ]);
    expect(view.serviceEntriesForHost('old.example.com', 'default')).toEqual([]);
    expect(view.serviceEntriesForHost('new.example.com', 'default')).toEqual([updated]);
  });

  it('CREATE: the new entry joins the stored ones', () => {
    const created = entry('default', 'api', { hosts: ['old.example.com'] });
    expect(names(index.viewFor(created).serviceEntriesForHost('old.example.com', 'default'))).toEqual([
      'default/api',
      'default/web',
    ]);
  });

  it('the entry under review honours its own exportTo', () => {
    const hidden = entry('default', 'web', { exportTo: ['team-a'] });
    expect(index.viewFor(hidden).serviceEntriesForHost('example.com', 'default')).toEqual([
      expect.objectContaining({ name: 'tls' }),
    ]);
    expect(index.viewFor(hidden).serviceEntriesForHost('example.com', 'team-a')).toEqual([
      hidden,
      expect.objectContaining({ name: 'tls' }),
    ]);
  });

  it('the view does not change the index', () => {
    index
      .viewFor(entry('default', 'web', { hosts: ['new.example.com'] }))
      .serviceEntriesForHost('new.example.com', 'default');
    expect(index.viewFor().serviceEntriesForHost('old.example.com', 'default')).toEqual([stored]);
  });

  it.each([
    [undefined, { stale: false, scope: 'cluster' }],
    [{ stale: true }, { stale: true, scope: 'cluster' }],
    [{ scope: 'input' as const }, { stale: false, scope: 'input' }],
  ])('options %j give %j', (options, expected) => {
    const view = index.viewFor(stored, options);
    expect({ stale: view.stale, scope: view.scope }).toEqual(expected);
  });
});

describe('HostIndex: DestinationRules', () => {
  const seed = destinationRule();
  const wildcard = destinationRule({ metadata: { name: 'aliyuncs' }, spec: { host: '*.aliyuncs.com' } });
  const everything = destinationRule({ metadata: { name: 'all', namespace: 'istio-system' }, spec: { host: '*' } });
  const privateRule = destinationRule({ metadata: { name: 'private', namespace: 'shop' }, spec: { exportTo: ['.'] } });
  const index = indexOf(
    [],
    [
      everything,
      privateRule,
      wildcard,
      seed,
      destinationRule({ metadata: { name: 'no-host' }, spec: { host: undefined } }),
    ],
  );

  it.each([
    [
      'exact rules first, then wildcards from the most specific',
      'oss-cn-shanghai.aliyuncs.com',
      'external',
      ['external/com.aliyuncs.oss-cn-shanghai', 'external/aliyuncs', 'istio-system/all'],
    ],
    // Rules for the same host keep the order they were stored in.
    [
      'rules exported only to their namespace, from there',
      'oss-cn-shanghai.aliyuncs.com',
      'shop',
      ['shop/private', 'external/com.aliyuncs.oss-cn-shanghai', 'external/aliyuncs', 'istio-system/all'],
    ],
    [
      'every rule whatever its exportTo, without a namespace',
      'oss-cn-shanghai.aliyuncs.com',
      undefined,
      ['shop/private', 'external/com.aliyuncs.oss-cn-shanghai', 'external/aliyuncs', 'istio-system/all'],
    ],
    [
      'another host under the wildcard',
      'OSS-cn-beijing.aliyuncs.com',
      'external',
      ['external/aliyuncs', 'istio-system/all'],
    ],
    ['a host only `*` covers', 'example.com', 'external', ['istio-system/all']],
  ])('finds %s', (_case, host, namespace, expected) => {
    expect(names(index.viewFor().destinationRulesForHost(host, namespace))).toEqual(expected);
  });

  it('replaces and deletes rules, wildcard ones included', () => {
    const changing = indexOf([], [seed, wildcard]);
    changing.upsertDestinationRule(destinationRule({ spec: { host: 'oss-cn-beijing.aliyuncs.com' } }));
    changing.deleteDestinationRule('external', 'aliyuncs');
    const view = changing.viewFor();
    expect(view.destinationRulesForHost('oss-cn-shanghai.aliyuncs.com', 'external')).toEqual([]);
    expect(names(view.destinationRulesForHost('oss-cn-beijing.aliyuncs.com', 'external'))).toEqual([
      'external/com.aliyuncs.oss-cn-shanghai',
    ]);
    expect(changing.destinationRuleCount).toBe(1);
  });

  it('keeps a rule without a host for iteration, but it applies to nothing', () => {
    expect(names([...index.destinationRules()])).toContain('external/no-host');
    for (const host of ['', 'example.com'])
      expect(names(index.viewFor().destinationRulesForHost(host))).not.toContain('external/no-host');
  });
});

describe('HostIndex agrees with a plain scan of the same objects (property)', () => {
  const hosts = ['example.com', 'api.example.com', '*.example.com', 'oss-cn-shanghai.aliyuncs.com', '*'];
  const namespaces = ['default', 'shop', 'external'];
  const exportTo = fc.constantFrom([], ['.'], ['*'], ['shop'], ['.', 'default']);
  const seArb = fc.record({
    namespace: fc.constantFrom(...namespaces),
    name: fc.constantFrom('a', 'b', 'c'),
    hosts: fc.subarray(
      hosts.filter((host) => host !== '*'),
      { minLength: 1 },
    ),
    exportTo,
  });
  const drArb = fc.record({
    namespace: fc.constantFrom(...namespaces),
    name: fc.constantFrom('a', 'b'),
    host: fc.constantFrom(...hosts),
    exportTo,
  });
  const operation = fc.oneof(
    seArb.map((se) => ({ kind: 'upsert-se' as const, se })),
    drArb.map((dr) => ({ kind: 'upsert-dr' as const, dr })),
    fc.record({
      kind: fc.constantFrom('delete-se' as const, 'delete-dr' as const),
      namespace: fc.constantFrom(...namespaces),
      name: fc.constantFrom('a', 'b'),
    }),
  );

  it('after any sequence of upserts and deletes', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 30 }), (operations) => {
        const index = new HostIndex();
        const entries = new Map<string, ServiceEntryView>();
        const rules = new Map<string, DestinationRuleView>();
        for (const op of operations) {
          if (op.kind === 'upsert-se') {
            const view = entry(op.se.namespace, op.se.name, { hosts: op.se.hosts, exportTo: op.se.exportTo });
            index.upsertServiceEntry(view);
            entries.set(`${op.se.namespace}/${op.se.name}`, view);
          } else if (op.kind === 'upsert-dr') {
            const view = destinationRule({
              metadata: { namespace: op.dr.namespace, name: op.dr.name },
              spec: { host: op.dr.host, exportTo: op.dr.exportTo },
            });
            index.upsertDestinationRule(view);
            rules.set(`${op.dr.namespace}/${op.dr.name}`, view);
          } else if (op.kind === 'delete-se') {
            index.deleteServiceEntry(op.namespace, op.name);
            entries.delete(`${op.namespace}/${op.name}`);
          } else {
            index.deleteDestinationRule(op.namespace, op.name);
            rules.delete(`${op.namespace}/${op.name}`);
          }
        }
        const scan = fakeCluster([...entries.values()], false, { rules: [...rules.values()] });
        const view = index.viewFor();
        const sorted = (found: readonly { namespace: string; name: string }[]) => names(found).sort();
        for (const host of [...hosts, 'www.example.com']) {
          for (const namespace of [...namespaces, undefined]) {
            if (namespace !== undefined)
              expect(sorted(view.serviceEntriesForHost(host, namespace))).toEqual(
                sorted(scan.serviceEntriesForHost(host, namespace)),
              );
            expect(sorted(view.destinationRulesForHost(host, namespace))).toEqual(
              sorted(scan.destinationRulesForHost(host, namespace)),
            );
          }
        }
        expect(index.size).toBe(entries.size + rules.size);
      }),
    );
  });
});

describe('undeclared-ports over a HostIndex view', () => {
  it("unions the ports of the namespace's entries for the host, not another namespace's", () => {
    const index = indexOf([
      entry('default', 'web', { ports: [port(80)] }),
      entry('default', 'tls', { ports: [port(443)] }),
      entry('team-a', 'more', { ports: [port(8443)], exportTo: ['default'] }),
    ]);
    const reviewed = entry('default', 'external-auto');
    const settings = { ...DEFAULT_SETTINGS, expectedPorts: [80, 443, 8443] };
    expect(
      undeclaredPortsRule(reviewed, { settings, cluster: index.viewFor(reviewed) }).map((f) => f.missingPorts),
    ).toEqual([[8443]]);
  });

  it("judges an UPDATE by its new ports, not the stored version's", () => {
    const index = indexOf([entry('default', 'external-auto', { ports: [port(80), port(443)] })]);
    const reviewed = entry('default', 'external-auto');
    const [finding] = undeclaredPortsRule(reviewed, { settings: DEFAULT_SETTINGS, cluster: index.viewFor(reviewed) });
    expect(finding).toMatchObject({ missingPorts: [80, 443], declaredPorts: [9444] });
  });
});

describe('HostIndex.hostsWithUndeclaredPorts', () => {
  const complete = serviceEntry(ossDemo);

  it.each<[string, ServiceEntryView[], number]>([
    ['empty index: 0', [], 0],
    ['seed oss: 80 and 443 declared: 0', [complete], 0],
    ['seed example.com: 9444 only: 1', [entry('default', 'external-auto')], 1],
    ['one host, two incomplete entries: counted once: 1', [entry('default', 'a'), entry('shop', 'b')], 1],
    [
      'two entries complete each other: 0',
      [entry('default', 'a', { ports: [port(80)] }), entry('default', 'b', { ports: [port(443)] })],
      0,
    ],
    [
      'completing entry not visible: still undeclared: 1',
      [entry('default', 'a', { ports: [port(80)] }), entry('shop', 'b', { ports: [port(443)], exportTo: ['.'] })],
      1,
    ],
    ['two hosts, both incomplete: 2', [entry('default', 'a', { hosts: ['example.com', 'api.example.com'] })], 2],
    ['not auto-allocated: resolution NONE: 0', [entry('default', 'a', { resolution: 'NONE' })], 0],
    ['wildcard hosts are not auto-allocated: 0', [entry('default', 'a', { hosts: ['*.example.com'] })], 0],
  ])('%s', (_case, entries, count) => {
    expect(indexOf(entries).hostsWithUndeclaredPorts(DEFAULT_SETTINGS)).toBe(count);
  });

  it('is recomputed after a change and for other settings, and reused otherwise', () => {
    const index = indexOf([entry('default', 'a')]);
    expect(index.hostsWithUndeclaredPorts(DEFAULT_SETTINGS)).toBe(1);
    // Stored views are immutable by contract; editing one in place shows the count comes from the cache.
    const [stored] = [...index.serviceEntries()];
    stored?.ports.push(
      { number: 80, protocol: 'TCP', name: 'p80', path: 'spec.ports[1]' },
      { number: 443, protocol: 'TCP', name: 'p443', path: 'spec.ports[2]' },
    );
    expect(index.hostsWithUndeclaredPorts(DEFAULT_SETTINGS)).toBe(1);
    index.deleteServiceEntry('default', 'a');
    index.upsertServiceEntry(entry('default', 'a'));
    index.upsertServiceEntry(entry('default', 'b', { ports: [port(80), port(443)] }));
    expect(index.hostsWithUndeclaredPorts(DEFAULT_SETTINGS)).toBe(0);
    expect(index.hostsWithUndeclaredPorts({ ...DEFAULT_SETTINGS, expectedPorts: [8443] })).toBe(1);
    index.deleteServiceEntry('default', 'b');
    expect(index.hostsWithUndeclaredPorts(DEFAULT_SETTINGS)).toBe(1);
    index.replaceAll([], []);
    expect(index.hostsWithUndeclaredPorts(DEFAULT_SETTINGS)).toBe(0);
  });
});
