import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import {
  DEFAULT_SETTINGS,
  exampleAuto,
  ossDemo,
  ossOriginateTls,
  ossWildcard,
} from '../../test/fixtures/service-entries.js';
import { HostIndex } from '../cluster/host-index.js';
import { toServiceEntryView } from '../istio/service-entry.js';
import { evaluateServiceEntry } from '../rules/index.js';
import { check, type CheckOptions } from './check.js';
import { parseManifests } from './load-manifests.js';
import { manifestObjects } from './objects.js';

const OPTIONS: CheckOptions = { namespace: 'default', optedIn: [], settings: DEFAULT_SETTINGS, mode: 'agent' };

/** Objects from YAML files: [file name, objects in it]. */
function objectsOf(...files: [string, unknown[]][]) {
  return manifestObjects(
    files.flatMap(([file, objects]) => parseManifests(objects.map((object) => stringify(object)).join('---\n'), file)),
  );
}

const summary = (options: Partial<CheckOptions>, ...files: [string, unknown[]][]) =>
  check(objectsOf(...files), { ...OPTIONS, ...options }).findings.map(
    (finding) =>
      `${finding.location?.file}:${finding.location?.line} ${finding.object.kind} ${finding.object.namespace}/${finding.object.name} ${finding.rule} ${finding.severity}`,
  );

const withoutNamespace = (object: { metadata: Record<string, unknown> }) => ({
  ...object,
  metadata: { ...object.metadata, namespace: undefined },
});
const wildcardDns = { ...ossWildcard, spec: { ...ossWildcard.spec, resolution: 'DNS' } };

describe('check', () => {
  it('gives every ServiceEntry exactly the findings admission gives it against the same objects', () => {
    const entries = [
      ossDemo,
      wildcardDns,
      exampleAuto,
      {
        ...exampleAuto,
        metadata: { name: 'example-web', namespace: 'default' },
        spec: { ...exampleAuto.spec, ports: [{ name: 'http', number: 80, protocol: 'HTTP' }] },
      },
    ];
    const report = check(objectsOf(['a.yaml', entries]), OPTIONS);
    const index = new HostIndex();
    for (const entry of entries) index.upsertServiceEntry(toServiceEntryView(entry));
    const expected = entries.flatMap((entry) => {
      const view = toServiceEntryView(entry);
      return evaluateServiceEntry(view, {
        settings: DEFAULT_SETTINGS,
        cluster: index.viewFor(view, { scope: 'input' }),
      }).map((finding) => ({
        name: view.name,
        rule: finding.rule,
        severity: finding.severity,
        message: finding.message,
        path: finding.path,
      }));
    });
    expect(
      report.findings.map(({ object, rule, severity, message, path }) => ({
        name: object.name,
        rule,
        severity,
        message,
        path,
      })),
    ).toEqual(expected);
    expect(new Set(expected.map(({ rule }) => rule))).toEqual(
      new Set(['duplicate-host', 'http-to-tls-port', 'undeclared-ports', 'wildcard-dns']),
    );
  });

  it('judges across files: a DestinationRule in another file originates TLS', () => {
    expect(summary({}, ['se.yaml', [ossDemo]])).toEqual([
      'se.yaml:11 ServiceEntry external/demo http-to-tls-port warn',
    ]);
    expect(summary({}, ['se.yaml', [ossDemo]], ['dr.yaml', [ossOriginateTls]])).toEqual([]);
  });

  it('places objects without a namespace in --namespace, as kubectl apply -n does', () => {
    expect(
      summary(
        { namespace: 'external' },
        ['se.yaml', [withoutNamespace(ossDemo)]],
        ['dr.yaml', [withoutNamespace(ossOriginateTls)]],
      ),
    ).toEqual([]);
    expect(summary({ namespace: 'team' }, ['se.yaml', [withoutNamespace(wildcardDns)]])).toEqual([
      'se.yaml:7 ServiceEntry team/wildcard wildcard-dns deny',
      'se.yaml:8 ServiceEntry team/wildcard wildcard-dns deny',
    ]);
  });

  it('names unnamed objects after their file and document, and List items after their index', () => {
    const unnamed = { ...wildcardDns, metadata: { namespace: 'external' } };
    const list = { apiVersion: 'v1', kind: 'List', items: [unnamed] };
    expect(summary({}, ['a.yaml', [ossOriginateTls, unnamed]], ['b.yaml', [list]])).toEqual([
      'a.yaml:21 ServiceEntry external/(unnamed a.yaml#2) wildcard-dns deny',
      'a.yaml:22 ServiceEntry external/(unnamed a.yaml#2) wildcard-dns deny',
      'b.yaml:10 ServiceEntry external/(unnamed b.yaml#1 items[0]) wildcard-dns deny',
      'b.yaml:11 ServiceEntry external/(unnamed b.yaml#1 items[0]) wildcard-dns deny',
    ]);
  });

  it('checks both copies of an object defined twice, and says that applying both keeps one', () => {
    const report = check(objectsOf(['a.yaml', [ossDemo]], ['b.yaml', [ossOriginateTls, ossDemo]]), OPTIONS);
    expect(report.findings).toEqual([
      {
        object: {
          apiVersion: 'networking.istio.io/v1beta1',
          kind: 'ServiceEntry',
          namespace: 'external',
          name: 'demo (b.yaml#2)',
        },
        location: { file: 'b.yaml', line: 15 },
        rule: 'duplicate-object',
        severity: 'warn',
        message:
          'ServiceEntry external/demo is also defined at a.yaml:1; applying both keeps only the last, both are checked here',
      },
    ]);
    expect(report.passed.map((object) => object.name)).toEqual(['demo', 'demo (b.yaml#2)']);
    expect(report.objectsChecked).toBe(3);
  });

  it('does not count objects of different kinds or namespaces with one name as duplicates', () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'demo', namespace: 'external' } };
    const report = check(
      objectsOf([
        'a.yaml',
        [
          ossDemo,
          ossOriginateTls,
          configMap,
          configMap,
          { ...ossDemo, metadata: { name: 'demo', namespace: 'other' } },
        ],
      ]),
      OPTIONS,
    );
    // In files, any DestinationRule of the input counts, whatever the namespaces (they often come from -n).
    expect(report.findings).toEqual([]);
    expect(report.passed.map(({ namespace, name }) => `${namespace}/${name}`)).toEqual(['external/demo', 'other/demo']);
  });
});

describe('check: mutation previews', () => {
  const namespace = (name: string, value = 'enabled') => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'egress-guard.io/dns-capture': value } },
  });
  const deployment = (ns: string, annotations?: Record<string, string>) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      template: {
        metadata: { labels: { app: 'web' }, ...(annotations ? { annotations } : {}) },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
    },
  });

  it.each([
    ['a labelled Namespace in the input', [namespace('shop'), deployment('shop')], [], 1],
    ['--opted-in', [deployment('shop')], ['shop'], 1],
    ['no opt-in', [deployment('shop')], [], 0],
    ['another label value', [namespace('shop', 'disabled'), deployment('shop')], [], 0],
    ['kube-system, whatever its labels', [namespace('kube-system'), deployment('kube-system')], ['kube-system'], 0],
    ['egress-guard’s own namespace', [namespace('egress-guard'), deployment('egress-guard')], [], 0],
  ])('previews pods per opt-in: %s', (_, objects, optedIn, previews) => {
    const report = check(objectsOf(['w.yaml', objects]), { ...OPTIONS, optedIn });
    expect(report.findings.filter((finding) => finding.rule === 'dns-capture')).toHaveLength(previews);
  });

  it('previews the patch, an unparsable annotation and a skip, as info', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop', labels: { 'istio.io/dataplane-mode': 'ambient' } },
      spec: {},
    };
    const report = check(
      objectsOf([
        'w.yaml',
        [
          deployment('shop'),
          {
            ...deployment('shop', { 'proxy.istio.io/config': 'proxyMetadata: {' }),
            metadata: { name: 'broken', namespace: 'shop' },
          },
          pod,
        ],
      ]),
      {
        ...OPTIONS,
        optedIn: ['shop'],
      },
    );
    expect(
      report.findings.map(({ object, severity, message, path, notApplicable }) => ({
        name: object.name,
        severity,
        message,
        path,
        notApplicable,
      })),
    ).toEqual([
      {
        name: 'web',
        severity: 'info',
        message:
          'would add proxyMetadata ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE to proxy.istio.io/config',
        path: 'spec.template.metadata.annotations["proxy.istio.io/config"]',
        notApplicable: undefined,
      },
      {
        name: 'broken',
        severity: 'info',
        message: expect.stringMatching(/^proxy\.istio\.io\/config cannot be parsed .*; pod left unchanged$/),
        path: 'spec.template.metadata.annotations["proxy.istio.io/config"]',
        notApplicable: true,
      },
      {
        name: 'p',
        severity: 'info',
        message: 'skipped: ambient pods (istio.io/dataplane-mode=ambient) have no sidecar; ztunnel proxies their DNS',
        path: undefined,
        notApplicable: true,
      },
    ]);
  });

  it('ignores a workload without a pod template', () => {
    const report = check(
      objectsOf([
        'w.yaml',
        [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: 'shop' }, spec: {} }],
      ]),
      { ...OPTIONS, optedIn: ['shop'] },
    );
    expect(report.findings).toEqual([]);
  });

  it('reports in input order: files, then documents, each object’s findings in rule order', () => {
    expect(
      summary({ optedIn: ['shop'] }, ['b.yaml', [deployment('shop'), wildcardDns]], ['a.yaml', [ossDemo]]),
    ).toEqual([
      'b.yaml:9 Deployment shop/web dns-capture info',
      'b.yaml:23 ServiceEntry external/wildcard wildcard-dns deny',
      'b.yaml:24 ServiceEntry external/wildcard wildcard-dns deny',
      'a.yaml:11 ServiceEntry external/demo http-to-tls-port warn',
    ]);
  });
});
