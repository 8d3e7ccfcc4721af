import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_SETTINGS,
  destinationRule,
  exampleAuto,
  ossDemo,
  ossWildcard,
  serviceEntry,
} from '../../test/fixtures/service-entries.js';
import { evaluateServiceEntry } from '../rules/index.js';
import { evaluateAll } from './evaluate.js';
import { HostIndex } from './host-index.js';

// The field reports' objects, plus the mistakes this issue is about: a second entry for example.com with other
// ports (duplicate host) and another protocol on 9444, and seed 000's entry copied to a namespace where its
// DestinationRule is not exported.
const entries = [
  serviceEntry(ossDemo),
  serviceEntry(ossWildcard, { spec: { resolution: 'DNS' } }),
  serviceEntry(exampleAuto),
  serviceEntry(exampleAuto, {
    metadata: { name: 'example-legacy' },
    spec: {
      ports: [
        { number: 9444, name: 'http', protocol: 'HTTP' },
        { number: 443, name: 'https', protocol: 'TLS' },
      ],
    },
  }),
  serviceEntry(ossDemo, { metadata: { namespace: 'shop', name: 'oss' } }),
];
const rules = [destinationRule({ spec: { exportTo: ['.'] } })];

function indexed(): HostIndex {
  const index = new HostIndex();
  index.replaceAll(entries, rules);
  return index;
}

describe('evaluateAll', () => {
  it.each(['input', 'cluster'] as const)(
    'gives each entry exactly the findings admission would give it (%s scope)',
    (scope) => {
      const index = indexed();
      const results = evaluateAll(index, DEFAULT_SETTINGS, scope);
      expect(results).toHaveLength(entries.length);
      for (const { entry, findings } of results) {
        expect(findings).toEqual(
          evaluateServiceEntry(entry, { settings: DEFAULT_SETTINGS, cluster: index.viewFor(entry, { scope }) }),
        );
      }
    },
  );

  it('sorts by namespace, then name, and reports the cross-object findings', () => {
    const summary = evaluateAll(indexed(), DEFAULT_SETTINGS, 'cluster').map(({ entry, findings }) => [
      `${entry.namespace}/${entry.name}`,
      findings.map((finding) => `${finding.rule} ${finding.path}`),
    ]);
    expect(summary).toEqual([
      [
        'default/example-legacy',
        ['undeclared-ports spec.hosts[0]', 'duplicate-host spec.hosts[0]', 'conflicting-protocols spec.ports[0]'],
      ],
      [
        'default/external-auto',
        ['undeclared-ports spec.hosts[0]', 'duplicate-host spec.hosts[0]', 'conflicting-protocols spec.ports[0]'],
      ],
      ['external/demo', []],
      ['external/wildcard', ['wildcard-dns spec.hosts[0]', 'wildcard-dns spec.hosts[1]']],
      // The DestinationRule is exported only to `external`: in the cluster, shop's copy sends plaintext to 443.
      ['shop/oss', ['http-to-tls-port spec.ports[0]']],
    ]);
  });

  it("in 'input' scope counts any DestinationRule in the files, whatever its namespace", () => {
    const shop = evaluateAll(indexed(), DEFAULT_SETTINGS, 'input').find(({ entry }) => entry.namespace === 'shop');
    expect(shop?.findings).toEqual([]);
  });

  it('denies with UNDECLARED_PORTS_ACTION=deny, like admission', () => {
    const severities = evaluateAll(
      indexed(),
      { ...DEFAULT_SETTINGS, undeclaredPortsAction: 'deny' },
      'cluster',
    ).flatMap(({ findings }) => findings.map((finding) => finding.severity));
    expect(new Set(severities)).toEqual(new Set(['deny']));
  });
});
