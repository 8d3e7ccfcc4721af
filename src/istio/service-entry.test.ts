import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { exampleAuto, ossDemo, serviceEntry } from '../../test/fixtures/service-entries.js';
import {
  AUTOALLOCATE_LABEL,
  declaresHost,
  distinctHosts,
  EXPECTED_PORTS_ANNOTATION,
  isSameObject,
  isVisibleFrom,
  portNumbers,
  toServiceEntryView,
  type ServiceEntryView,
} from './service-entry.js';

function withSpec(spec: unknown, metadata: unknown = { name: 'odd', namespace: 'ns' }): ServiceEntryView {
  return toServiceEntryView({ metadata, spec });
}

describe('toServiceEntryView', () => {
  it('normalizes the seed ServiceEntry', () => {
    const view = toServiceEntryView({
      ...ossDemo,
      metadata: { ...ossDemo.metadata, uid: 'u-1', resourceVersion: '7' },
    });
    expect(view).toEqual({
      namespace: 'external',
      name: 'demo',
      hosts: [{ host: 'oss-cn-shanghai.aliyuncs.com', path: 'spec.hosts[0]' }],
      ports: [
        { number: 80, protocol: 'HTTP', name: 'http', targetPort: 443, path: 'spec.ports[0]' },
        { number: 443, protocol: 'TLS', name: 'https', path: 'spec.ports[1]' },
      ],
      resolution: 'DNS',
      addresses: [],
      endpointCount: 0,
      exportTo: [],
      labels: {},
      annotations: {},
      uid: 'u-1',
      resourceVersion: '7',
    });
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'ServiceEntry'],
    ['an array', [{ metadata: { name: 'x' } }]],
    ['an empty object', {}],
    ['metadata and spec of the wrong type', { metadata: 'm', spec: [1, 2] }],
  ])('yields an empty view for %s', (_what, input) => {
    expect(toServiceEntryView(input, 'fallback')).toEqual({
      namespace: 'fallback',
      name: '',
      hosts: [],
      ports: [],
      resolution: 'NONE',
      addresses: [],
      endpointCount: 0,
      exportTo: [],
      labels: {},
      annotations: {},
    });
  });

  it.each([
    ['a single string', 'example.com', [{ host: 'example.com', path: 'spec.hosts' }]],
    [
      'non-strings and blanks among strings',
      [1, null, ' ', 'a.com', {}, ['b.com']],
      [{ host: 'a.com', path: 'spec.hosts[3]' }],
    ],
    ['padded names', ['  *.a.com '], [{ host: '*.a.com', path: 'spec.hosts[0]' }]],
    [
      'a long list, past the paths made ahead',
      [...Array(70).fill(null), 'late.example.com'],
      [{ host: 'late.example.com', path: 'spec.hosts[70]' }],
    ],
    ['null', null, []],
    ['an object', { 0: 'a.com' }, []],
  ])('reads hosts given as %s', (_what, hosts, expected) => {
    expect(withSpec({ hosts }).hosts).toEqual(expected);
  });

  it('keeps usable ports, reads numbers written as strings, and skips the rest', () => {
    const ports = [
      { number: '443', protocol: ' tls', name: 5 },
      { number: 0, name: 'zero' },
      { number: 70000, name: 'too-big' },
      { number: 1.5, name: 'fraction' },
      null,
      'http:80',
      { name: 'no-number' },
      { number: 80, targetPort: '8080', name: 'http' },
      { number: 81, targetPort: 'eighty', name: 'bad-target' },
    ];
    expect(withSpec({ ports }).ports).toEqual([
      { number: 443, protocol: 'TLS', name: '', path: 'spec.ports[0]' },
      { number: 80, protocol: '', name: 'http', targetPort: 8080, path: 'spec.ports[7]' },
      { number: 81, protocol: '', name: 'bad-target', path: 'spec.ports[8]' },
    ]);
  });

  it.each([
    ['null', null, []],
    [
      'a single object',
      { number: 9444, name: 'tcp', protocol: 'TCP' },
      [{ number: 9444, protocol: 'TCP', name: 'tcp', path: 'spec.ports' }],
    ],
  ])('reads ports given as %s', (_what, ports, expected) => {
    expect(withSpec({ ports }).ports).toEqual(expected);
  });

  it.each([
    ['unset', undefined, 'NONE'],
    ['empty', '', 'NONE'],
    ['not a string', 3, 'NONE'],
    ['lower case', 'dns', 'DNS'],
    ['DYNAMIC_DNS', 'DYNAMIC_DNS', 'DYNAMIC_DNS'],
    ['unknown', 'MAGIC', 'MAGIC'],
  ])('reads resolution %s', (_what, resolution, expected) => {
    expect(withSpec({ resolution }).resolution).toBe(expected);
  });

  it('reads addresses and exportTo as string lists, single strings included', () => {
    const view = withSpec({ addresses: '240.0.0.10', exportTo: ['.', 7, '*', 'team-a', null] });
    expect(view.addresses).toEqual(['240.0.0.10']);
    expect(view.exportTo).toEqual(['.', '*', 'team-a']);
  });

  it('takes the namespace from metadata, else the fallback, else empty', () => {
    expect(toServiceEntryView({ metadata: { namespace: 'external' } }, 'fallback').namespace).toBe('external');
    expect(toServiceEntryView({ metadata: { namespace: '' } }, 'fallback').namespace).toBe('fallback');
    expect(toServiceEntryView({ metadata: {} }).namespace).toBe('');
  });

  it('keeps the labels and annotations rules read, scalars stringified (YAML `false`), and drops the rest', () => {
    const view = toServiceEntryView({
      metadata: {
        labels: { [AUTOALLOCATE_LABEL]: false, tier: '2', team: 'payments' },
        annotations: { [EXPECTED_PORTS_ANNOTATION]: 443, 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
    });
    expect({ ...view.labels }).toEqual({ [AUTOALLOCATE_LABEL]: 'false' });
    expect({ ...view.annotations }).toEqual({ [EXPECTED_PORTS_ANNOTATION]: '443' });
  });

  it.each<[string, unknown]>([
    ['a nested object', { a: 1 }],
    ['null', null],
    ['a list', ['false']],
  ])('drops a rule label whose value is %s', (_case, value) => {
    expect({ ...toServiceEntryView({ metadata: { labels: { [AUTOALLOCATE_LABEL]: value } } }).labels }).toEqual({});
  });

  it.each<[string, unknown]>([
    ['missing', undefined],
    ['a string', 'team=payments'],
    ['a list', [AUTOALLOCATE_LABEL]],
  ])('reads labels that are %s as none', (_case, labels) => {
    expect(Object.keys(toServiceEntryView({ metadata: { labels } }).labels)).toEqual([]);
  });

  it('treats a __proto__ key as data: no pollution, no inherited lookups', () => {
    const object = JSON.parse(
      `{"metadata":{"labels":{"__proto__":{"polluted":"yes"},"${AUTOALLOCATE_LABEL}":"false"},"annotations":{"__proto__":"x"}}}`,
    );
    const view = toServiceEntryView(object);
    expect(Object.getPrototypeOf(view.labels)).toBeNull();
    expect(Object.getPrototypeOf(view.annotations)).toBeNull();
    expect(Object.keys(view.labels)).toEqual([AUTOALLOCATE_LABEL]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(view.labels['toString']).toBeUndefined();
    expect(view.annotations['__proto__']).toBeUndefined();
  });

  it('reads a rule label only as an own property', () => {
    const labels = Object.create({ [AUTOALLOCATE_LABEL]: 'false' });
    expect(Object.keys(toServiceEntryView({ metadata: { labels } }).labels)).toEqual([]);
  });

  it('reads only own properties, never inherited ones', () => {
    const spec = Object.create({ hosts: ['inherited.example.com'] });
    expect(withSpec(spec).hosts).toEqual([]);
  });

  function expectWellTyped(view: ServiceEntryView): void {
    expect(typeof view.namespace).toBe('string');
    expect(typeof view.name).toBe('string');
    expect(typeof view.resolution).toBe('string');
    for (const host of view.hosts) expect([typeof host.host, typeof host.path]).toEqual(['string', 'string']);
    for (const port of view.ports) {
      expect(Number.isInteger(port.number) && port.number >= 1 && port.number <= 65535).toBe(true);
      expect([typeof port.protocol, typeof port.name, typeof port.path]).toEqual(['string', 'string', 'string']);
      if (port.targetPort !== undefined) expect(Number.isInteger(port.targetPort)).toBe(true);
    }
    for (const list of [view.addresses, view.exportTo]) for (const item of list) expect(typeof item).toBe('string');
    for (const map of [view.labels, view.annotations])
      for (const value of Object.values(map)) expect(typeof value).toBe('string');
  }

  it('never throws for any value, and yields well-typed fields (property)', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (value) => {
        expectWellTyped(toServiceEntryView(value));
        expectWellTyped(withSpec(value, value));
      }),
    );
  });

  it('never throws for any JSON spec or metadata (property)', () => {
    const field = fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue()));
    const spec = fc.record(
      {
        hosts: field,
        ports: fc.oneof(
          field,
          fc.array(fc.dictionary(fc.constantFrom('number', 'targetPort', 'name', 'protocol'), fc.jsonValue())),
        ),
        resolution: field,
        addresses: field,
        exportTo: field,
      },
      { requiredKeys: [] },
    );
    const metadata = fc.record(
      { name: field, namespace: field, labels: field, annotations: field, uid: field },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(spec, metadata, (specValue, metadataValue) => {
        expectWellTyped(withSpec(specValue, metadataValue));
      }),
    );
  });
});

describe('isVisibleFrom', () => {
  it.each([
    [[], 'anywhere', true],
    [['*'], 'anywhere', true],
    [['.'], 'default', true],
    [['.'], 'other', false],
    [['team-a'], 'team-a', true],
    [['team-a'], 'default', false],
    [['.', 'team-a'], 'team-a', true],
  ])('exportTo %j seen from %s -> %s', (exportTo, namespace, visible) => {
    expect(isVisibleFrom(serviceEntry(exampleAuto, { spec: { exportTo } }), namespace)).toBe(visible);
  });
});

describe('declaresHost and isSameObject', () => {
  it('matches declared hosts case-insensitively', () => {
    const entry = serviceEntry(exampleAuto);
    expect(declaresHost(entry, 'EXAMPLE.com')).toBe(true);
    expect(declaresHost(entry, 'api.example.com')).toBe(false);
  });

  it('identifies an object by namespace/name, never two unnamed ones', () => {
    const entry = serviceEntry(exampleAuto);
    expect(isSameObject(entry, serviceEntry(exampleAuto, { spec: { ports: [] } }))).toBe(true);
    expect(isSameObject(entry, serviceEntry(exampleAuto, { metadata: { namespace: 'other' } }))).toBe(false);
    const unnamed = serviceEntry(exampleAuto, { metadata: { name: undefined } });
    expect(isSameObject(unnamed, unnamed)).toBe(false);
  });
});

describe('the facts rules ask of an entry', () => {
  const view = () =>
    serviceEntry(exampleAuto, {
      spec: {
        hosts: ['Api.Example.com', 'api.example.com.', 'other.example.com', ' API.example.com '],
        ports: [
          { name: 'https', number: 443, protocol: 'TLS' },
          { name: 'http', number: 80, protocol: 'HTTP' },
          { name: 'https-again', number: 443, protocol: 'HTTPS' },
        ],
      },
    });

  it('lists each host once, as first written, with its path', () => {
    expect(distinctHosts(view())).toEqual([
      { host: 'Api.Example.com', path: 'spec.hosts[0]' },
      { host: 'other.example.com', path: 'spec.hosts[2]' },
    ]);
  });

  it('lists each port number once, ascending', () => {
    expect(portNumbers(view())).toEqual([80, 443]);
  });

  it('matches a host given in any spelling of a declared one', () => {
    const entry = view();
    for (const host of ['api.example.com', 'API.EXAMPLE.COM.', 'Other.Example.com'])
      expect(declaresHost(entry, host)).toBe(true);
    expect(declaresHost(entry, 'example.com')).toBe(false);
  });

  it('remembers them without changing what the view looks like', () => {
    const entry = view();
    const before = { keys: Object.keys(entry), json: JSON.stringify(entry) };
    expect(distinctHosts(entry)).toBe(distinctHosts(entry));
    expect(portNumbers(entry)).toBe(portNumbers(entry));
    expect({ keys: Object.keys(entry), json: JSON.stringify(entry) }).toEqual(before);
    expect(entry).toEqual(view());
  });

  it('works out the facts of a frozen view each time instead of failing', () => {
    const entry = Object.freeze(view());
    expect(distinctHosts(entry)).toHaveLength(2);
    expect(declaresHost(entry, 'other.example.com')).toBe(true);
  });
});
