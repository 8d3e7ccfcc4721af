import { describe, expect, it } from '@jest/globals';
import { contextFor, exampleAuto, fakeCluster, serviceEntry } from '../../test/fixtures/service-entries.js';
import type { ServiceEntryView } from '../istio/service-entry.js';
import { duplicateHostRule } from './duplicate-host.js';
import type { RuleSettings } from './types.js';

const OPT_OUT = 'networking.istio.io/enable-autoallocate-ip';
const port = (number: number) => ({ number, name: `p${number}`, protocol: 'TCP' });
const LEGACY: Partial<RuleSettings> = { istio: { version: { major: 1, minor: 24 }, allocator: 'legacy' } };

/** Seed 003's example.com entry (TCP 9444, DNS, auto-allocated) with changes. */
const example = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) =>
  serviceEntry(exampleAuto, { spec, metadata });

/** Another team's ServiceEntry for example.com. */
const other = (
  namespace: string,
  name: string,
  ports: number[],
  spec: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
) =>
  serviceEntry(exampleAuto, { metadata: { namespace, name, ...metadata }, spec: { ports: ports.map(port), ...spec } });

interface Row {
  entry: ServiceEntryView;
  /** What the cluster holds besides the entry; omitted means the object-at-hand view. */
  cluster?: ServiceEntryView[];
  settings?: Partial<RuleSettings>;
  /** [path, others, unreliable ports] per finding. */
  expected: [string, string[], number[]][];
}

describe('duplicate-host', () => {
  it.each<[string, Row]>([
    ['seed example.com alone', { entry: example(), cluster: [], expected: [] }],
    ['object at hand: nothing else is known', { entry: example(), expected: [] }],
    [
      'another entry declares 80,443: every port is unreliable',
      {
        entry: example(),
        cluster: [other('default', 'web', [80, 443])],
        expected: [['spec.hosts[0]', ['default/web'], [80, 443, 9444]]],
      },
    ],
    [
      'another entry adds 443 to 9444',
      {
        entry: example(),
        cluster: [other('default', 'web', [9444, 443])],
        expected: [['spec.hosts[0]', ['default/web'], [443]]],
      },
    ],
    [
      'another entry declares the same ports: harmless',
      { entry: example(), cluster: [other('default', 'copy', [9444])], expected: [] },
    ],
    [
      'the other entry has spec.addresses',
      { entry: example(), cluster: [other('default', 'web', [80], { addresses: ['240.0.0.10'] })], expected: [] },
    ],
    [
      'the other entry has resolution NONE',
      { entry: example(), cluster: [other('default', 'web', [80], { resolution: 'NONE' })], expected: [] },
    ],
    [
      'the other entry opts out of auto-allocation',
      {
        entry: example(),
        cluster: [other('default', 'web', [80], {}, { labels: { [OPT_OUT]: 'false' } })],
        expected: [],
      },
    ],
    [
      'this entry opts out of auto-allocation',
      {
        entry: example({}, { labels: { [OPT_OUT]: 'false' } }),
        cluster: [other('default', 'web', [80])],
        expected: [],
      },
    ],
    [
      'the other entry is exported only to its own namespace',
      { entry: example(), cluster: [other('team-a', 'web', [80], { exportTo: ['.'] })], expected: [] },
    ],
    // A sidecar uses one namespace's entries per host, its own first (pilot/pkg/model/sidecar.go selectServices):
    // another namespace's entry is not used beside this one, so it makes no port unreliable.
    [
      'the other entry is in another namespace and exported to this one',
      { entry: example(), cluster: [other('team-a', 'web', [80], { exportTo: ['default'] })], expected: [] },
    ],
    [
      'the other entry is in another namespace, public',
      { entry: example(), cluster: [other('team-a', 'web', [80])], expected: [] },
    ],
    // The legacy allocator gives entries of one namespace sharing a host one address
    // (pilot/pkg/serviceregistry/serviceentry/auto_allocation.go, keyed on namespace/host).
    [
      'legacy allocator: another entry declares 80,443',
      { entry: example(), settings: LEGACY, cluster: [other('default', 'web', [80, 443])], expected: [] },
    ],
    [
      'the other entry spells the host in upper case',
      {
        entry: example(),
        cluster: [other('default', 'web', [80], { hosts: ['EXAMPLE.com.'] })],
        expected: [['spec.hosts[0]', ['default/web'], [80, 9444]]],
      },
    ],
    [
      'the stored old version of this entry is not a duplicate',
      { entry: example(), cluster: [example({ ports: [port(80)] })], expected: [] },
    ],
    ['the entry itself in the cluster is not a duplicate', { entry: example(), cluster: [example()], expected: [] }],
    [
      'wildcard hosts are never auto-allocated',
      {
        entry: example({ hosts: ['*.example.com'] }),
        cluster: [other('default', 'web', [80], { hosts: ['*.example.com'] })],
        expected: [],
      },
    ],
    [
      'an entry for another host does not count',
      { entry: example(), cluster: [other('default', 'api', [80], { hosts: ['api.example.com'] })], expected: [] },
    ],
    [
      'three others: all named, sorted, with the union of one-sided ports',
      {
        entry: example(),
        cluster: [other('default', 'b', [9444, 80]), other('default', 'a', [9444, 443]), other('shop', 'a', [9444])],
        expected: [['spec.hosts[0]', ['default/a', 'default/b'], [80, 443]]],
      },
    ],
    [
      'only the duplicated host of several is reported',
      {
        entry: example({ hosts: ['api.example.com', 'example.com'] }),
        cluster: [other('default', 'web', [80])],
        expected: [['spec.hosts[1]', ['default/web'], [80, 9444]]],
      },
    ],
    [
      'a host listed twice is reported once',
      {
        entry: example({ hosts: ['example.com', 'Example.com'] }),
        cluster: [other('default', 'web', [80])],
        expected: [['spec.hosts[0]', ['default/web'], [80, 9444]]],
      },
    ],
  ])('%s', (_case, { entry, cluster, settings, expected }) => {
    const findings = duplicateHostRule(entry, contextFor(entry, settings, cluster && fakeCluster([entry, ...cluster])));
    expect(findings.map((finding) => [finding.path, finding.others, finding.ports])).toEqual(expected);
    for (const finding of findings) expect(finding).toMatchObject({ rule: 'duplicate-host', severity: 'warn' });
  });

  it.each(['warn', 'deny'] as const)('uses severity %s from settings.undeclaredPortsAction', (action) => {
    const entry = example({ hosts: ['api.example.com'] }, { namespace: 'shop', name: 'api' });
    const legacy = other('shop', 'api-legacy', [9444, 443], { hosts: ['api.example.com'] });
    expect(
      duplicateHostRule(entry, contextFor(entry, { undeclaredPortsAction: action }, fakeCluster([legacy]))),
    ).toEqual([
      {
        rule: 'duplicate-host',
        severity: action,
        message: 'api.example.com is also declared by shop/api-legacy: port 443 unreliable (istio#55266)',
        path: 'spec.hosts[0]',
        host: 'api.example.com',
        others: ['shop/api-legacy'],
        ports: [443],
      },
    ]);
  });

  it.each<[string, ServiceEntryView[], boolean, string]>([
    [
      'two others, several ports',
      [other('default', 'web', [80]), other('default', 'tls', [443])],
      false,
      'example.com is also declared by default/tls, default/web: ports 80,443,9444 unreliable (istio#55266)',
    ],
    [
      'many others and ports, shortened',
      ['a', 'b', 'c', 'd'].map((name, index) =>
        other('default', `entry-with-a-long-name-${name}`, [8000 + index, 9000 + index]),
      ),
      false,
      'example.com is also declared by default/entry-with-a-long-name-a (+3 more): ports 8000,8001 (+7 more) unreliable',
    ],
    [
      'stale cluster view',
      [other('default', 'web', [80])],
      true,
      'example.com is also declared by default/web: ports 80,9444 unreliable (istio#55266) (cluster view may be stale)',
    ],
  ])('message for %s names the host, the others and the ports', (_case, others, stale, message) => {
    const entry = example();
    const [finding] = duplicateHostRule(entry, contextFor(entry, {}, fakeCluster(others, stale)));
    expect(finding?.message).toBe(message);
    expect(finding?.others).toHaveLength(others.length);
  });

  it.each<[string, ServiceEntryView[], string]>([
    [
      'one other with a long name',
      [
        other('external', 'oss-cn-shanghai-old', [80, 443, 8443], {
          hosts: ['oss-cn-shanghai.aliyuncs.com'],
        }),
      ],
      'oss-cn-shanghai.aliyuncs.com is also declared by external/oss-cn-shanghai-old: ports 80,443,8443,9444 unreliable',
    ],
    [
      'two others with long names',
      ['legacy', 'canary'].map((name) =>
        other('external', `oss-cn-shanghai-${name}-payments`, [80, 443, 8443], {
          hosts: ['oss-cn-shanghai.aliyuncs.com'],
        }),
      ),
      'oss-cn-shanghai.aliyuncs.com is also declared by 2 other ServiceEntries: 4 ports unreliable',
    ],
  ])('drops detail until the warning fits 120 characters: %s', (_case, others, message) => {
    const entry = serviceEntry(exampleAuto, {
      metadata: { namespace: 'external' },
      spec: { hosts: ['oss-cn-shanghai.aliyuncs.com'] },
    });
    const [finding] = duplicateHostRule(entry, contextFor(entry, {}, fakeCluster(others)));
    expect(finding?.message).toBe(message);
    expect(message.length).toBeLessThan(120);
    expect(finding?.ports).toEqual([80, 443, 8443, 9444]);
  });
});
