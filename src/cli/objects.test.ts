import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ManifestError, parseManifests } from './load-manifests.js';
import { classify, formatFieldPath, manifestObjects, parseFieldPath } from './objects.js';

describe('field paths', () => {
  it.each([
    ['spec.hosts[1]', ['spec', 'hosts', 1]],
    ['spec.ports[0]', ['spec', 'ports', 0]],
    [
      'metadata.annotations["egress-guard.io/expected-ports"]',
      ['metadata', 'annotations', 'egress-guard.io/expected-ports'],
    ],
    [
      'spec.template.metadata.annotations["proxy.istio.io/config"]',
      ['spec', 'template', 'metadata', 'annotations', 'proxy.istio.io/config'],
    ],
    ['items[3]', ['items', 3]],
    ['', []],
  ] as const)('%s <-> %j', (text, path) => {
    expect(parseFieldPath(text)).toEqual(path);
    expect(formatFieldPath(path)).toBe(text);
  });

  it.each(['spec..hosts', 'spec.hosts[x]', 'spec.hosts[1', 'spec["unterminated]'])('does not parse %s', (text) => {
    expect(parseFieldPath(text)).toBeUndefined();
  });

  it('round-trips any path', () => {
    const segment = fc.oneof(fc.string({ minLength: 1 }), fc.nat());
    fc.assert(
      fc.property(fc.tuple(fc.string({ minLength: 1 }), fc.array(segment)), ([head, rest]) => {
        const path = [head, ...rest];
        expect(parseFieldPath(formatFieldPath(path))).toEqual(path);
      }),
    );
  });
});

describe('classify', () => {
  const template = { metadata: { labels: { app: 'x' } }, spec: {} };
  it.each([
    ['networking.istio.io/v1', 'ServiceEntry', {}, 'service-entry'],
    ['networking.istio.io/v1alpha3', 'ServiceEntry', {}, 'service-entry'],
    ['networking.istio.io/v1beta1', 'DestinationRule', {}, 'destination-rule'],
    ['example.com/v1', 'ServiceEntry', {}, 'other'],
    ['v1', 'Namespace', { metadata: { name: 'shop' } }, 'namespace'],
    ['v1', 'Pod', template, 'pod-template'],
    ['apps/v1', 'Deployment', { spec: { template } }, 'pod-template'],
    ['extensions/v1beta1', 'Deployment', { spec: { template } }, 'pod-template'],
    ['apps/v1', 'StatefulSet', { spec: { template } }, 'pod-template'],
    ['apps/v1', 'DaemonSet', { spec: { template } }, 'pod-template'],
    ['apps/v1', 'ReplicaSet', { spec: { template } }, 'pod-template'],
    ['v1', 'ReplicationController', { spec: { template } }, 'pod-template'],
    ['batch/v1', 'Job', { spec: { template } }, 'pod-template'],
    ['batch/v1', 'CronJob', { spec: { jobTemplate: { spec: { template } } } }, 'pod-template'],
    ['example.com/v1', 'Deployment', { spec: { template } }, 'other'],
    ['v1', 'ConfigMap', {}, 'other'],
  ])('%s %s is %s', (apiVersion, kind, object, type) => {
    const result = classify({ apiVersion, kind, object });
    expect(result.type).toBe(type);
    if (result.type === 'pod-template') expect(result.template).toEqual(template);
  });

  it('reads a Namespace’s name and string labels', () => {
    expect(
      classify({
        apiVersion: 'v1',
        kind: 'Namespace',
        object: { metadata: { name: 'shop', labels: { 'egress-guard.io/dns-capture': 'enabled', n: 1 } } },
      }),
    ).toEqual({
      type: 'namespace',
      name: 'shop',
      labels: { 'egress-guard.io/dns-capture': 'enabled' },
    });
  });
});

describe('manifestObjects', () => {
  it('expands Lists, nested Lists and typed lists whose items have no kind, keeping each item’s line', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: Secret
    metadata: {name: b}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntryList
items:
- metadata: {name: c}
  spec:
    hosts: [c.example.com]
`;
    const objects = manifestObjects(parseManifests(text, 'l.yaml'));
    expect(
      objects.map(({ apiVersion, kind, document, itemPath, line }) => ({ apiVersion, kind, document, itemPath, line })),
    ).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', document: 1, itemPath: ['items', 0], line: 4 },
      { apiVersion: 'v1', kind: 'Secret', document: 1, itemPath: ['items', 1, 'items', 0], line: 10 },
      { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', document: 2, itemPath: ['items', 0], line: 17 },
    ]);
    expect(objects[2]?.lineAt(['spec', 'hosts', 0])).toBe(19);
  });

  it('treats an empty List as no objects', () => {
    expect(
      manifestObjects(
        parseManifests('apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: List\n', 'l.yaml'),
      ),
    ).toEqual([]);
  });

  it.each([
    [
      'a scalar',
      'just text\n',
      'l.yaml:1: expected a Kubernetes object (a mapping with apiVersion and kind), found a string',
    ],
    ['no kind', 'apiVersion: v1\nmetadata: {}\n', 'l.yaml:1: kind not set'],
    ['no apiVersion', 'kind: Pod\n', 'l.yaml:1: apiVersion not set'],
    [
      'an item without kind in a plain List',
      'apiVersion: v1\nkind: List\nitems:\n- metadata: {}\n',
      'l.yaml:4: kind not set (items[0])',
    ],
    [
      'items that are not a list',
      'apiVersion: v1\nkind: List\nitems: {a: 1}\n',
      'l.yaml:1: List items is a mapping, not a list',
    ],
  ])('rejects %s', (_, text, message) => {
    expect(() => manifestObjects(parseManifests(text, 'l.yaml'))).toThrow(ManifestError);
    expect(() => manifestObjects(parseManifests(text, 'l.yaml'))).toThrow(message);
  });
});
