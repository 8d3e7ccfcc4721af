import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { destinationRule, ossOriginateTls } from '../../test/fixtures/service-entries.js';
import {
  isRuleVisibleFrom,
  originatesTls,
  ruleAppliesTo,
  tlsModeFor,
  toDestinationRuleView,
  type DestinationRuleView,
} from './destination-rule.js';

const policy = (trafficPolicy: unknown) => destinationRule({ spec: { trafficPolicy } });

describe('toDestinationRuleView', () => {
  it("normalizes seed 000's DestinationRule", () => {
    const view = toDestinationRuleView({
      ...ossOriginateTls,
      metadata: { ...ossOriginateTls.metadata, uid: 'u-2', resourceVersion: '9' },
    });
    expect({ ...view, portTlsModes: { ...view.portTlsModes } }).toEqual({
      namespace: 'external',
      name: 'com.aliyuncs.oss-cn-shanghai',
      host: 'oss-cn-shanghai.aliyuncs.com',
      exportTo: [],
      portTlsModes: { 80: 'SIMPLE' },
      uid: 'u-2',
      resourceVersion: '9',
    });
  });

  it.each([
    ['null', null],
    ['a string', 'DestinationRule'],
    ['an array', [ossOriginateTls]],
    ['an empty object', {}],
    ['spec of the wrong type', { metadata: 7, spec: ['host'] }],
  ])('yields an empty view for %s', (_what, input) => {
    const view = toDestinationRuleView(input, 'fallback');
    expect({ ...view, portTlsModes: { ...view.portTlsModes } }).toEqual({
      namespace: 'fallback',
      name: '',
      host: '',
      exportTo: [],
      portTlsModes: {},
    });
  });

  it('normalizes the host and reads exportTo as a string list', () => {
    const view = destinationRule({
      spec: { host: ' OSS-CN-Shanghai.aliyuncs.com. ', exportTo: ['.', 3, ' team-a ', ''] },
    });
    expect([view.host, view.exportTo]).toEqual(['oss-cn-shanghai.aliyuncs.com', ['.', 'team-a']]);
    expect(destinationRule({ spec: { exportTo: 'team-b' } }).exportTo).toEqual(['team-b']);
  });

  it('keeps port numbers as the only keys of a null-prototype map, even for __proto__ input', () => {
    const view = toDestinationRuleView(
      JSON.parse(
        '{"spec":{"trafficPolicy":{"portLevelSettings":[{"port":{"number":"__proto__"},"tls":{"mode":"SIMPLE"}},{"port":{"number":"8443"},"tls":{"mode":"MUTUAL"}}]}}}',
      ),
    );
    expect(Object.getPrototypeOf(view.portTlsModes)).toBeNull();
    expect(Object.keys(view.portTlsModes)).toEqual(['8443']);
    expect(tlsModeFor(view, 8443)).toBe('MUTUAL');
  });

  it('ignores subsets: they apply only to traffic routed to them', () => {
    const view = destinationRule({
      spec: { trafficPolicy: undefined, subsets: [{ name: 'tls', trafficPolicy: { tls: { mode: 'SIMPLE' } } }] },
    });
    expect(originatesTls(view, 80)).toBe(false);
  });

  it('never throws for any value (property)', () => {
    const json = fc.oneof(fc.jsonValue(), fc.anything({ withNullPrototype: true }));
    const tls = fc.oneof(json, fc.record({ mode: json }, { requiredKeys: [] }));
    const portLevel = fc.oneof(
      json,
      fc.array(fc.record({ port: fc.oneof(json, fc.record({ number: json })), tls }, { requiredKeys: [] })),
    );
    const spec = fc.record(
      {
        host: json,
        exportTo: json,
        trafficPolicy: fc.oneof(json, fc.record({ tls, portLevelSettings: portLevel }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(spec, json, (specValue, metadata) => {
        const view = toDestinationRuleView({ metadata, spec: specValue });
        expect(typeof view.host).toBe('string');
        for (const port of [80, 443]) expect(['string', 'undefined']).toContain(typeof tlsModeFor(view, port));
      }),
    );
  });
});

describe('tlsModeFor', () => {
  // [case, trafficPolicy, port, expected mode]
  it.each<[string, unknown, number, string | undefined]>([
    [
      'seed: port-level SIMPLE on 80',
      { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] },
      80,
      'SIMPLE',
    ],
    [
      'seed: no setting for 443',
      { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] },
      443,
      undefined,
    ],
    ['destination-level mode applies to every port', { tls: { mode: 'SIMPLE' } }, 8080, 'SIMPLE'],
    [
      'port-level mode overrides the destination-level one',
      { tls: { mode: 'SIMPLE' }, portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'DISABLE' } }] },
      80,
      'DISABLE',
    ],
    [
      'a port-level entry without tls does not inherit it',
      { tls: { mode: 'SIMPLE' }, portLevelSettings: [{ port: { number: 80 }, connectionPool: {} }] },
      80,
      undefined,
    ],
    [
      'other ports keep the destination-level mode',
      { tls: { mode: 'MUTUAL' }, portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'DISABLE' } }] },
      443,
      'MUTUAL',
    ],
    [
      'the first entry for a port wins',
      {
        portLevelSettings: [
          { port: { number: 80 }, tls: { mode: 'SIMPLE' } },
          { port: { number: 80 }, tls: { mode: 'DISABLE' } },
        ],
      },
      80,
      'SIMPLE',
    ],
    ['a tls block without mode is DISABLE', { tls: { sni: 'oss-cn-shanghai.aliyuncs.com' } }, 80, 'DISABLE'],
    ['mode in lower case', { tls: { mode: 'simple' } }, 80, 'SIMPLE'],
    [
      'port number written as a string',
      { portLevelSettings: [{ port: { number: '80' }, tls: { mode: 'SIMPLE' } }] },
      80,
      'SIMPLE',
    ],
    [
      'an entry without a port is skipped',
      { portLevelSettings: [{ tls: { mode: 'DISABLE' } }], tls: { mode: 'SIMPLE' } },
      80,
      'SIMPLE',
    ],
    [
      'portLevelSettings written as one object',
      { portLevelSettings: { port: { number: 80 }, tls: { mode: 'SIMPLE' } } },
      80,
      'SIMPLE',
    ],
    ['no trafficPolicy', undefined, 80, undefined],
  ])('%s', (_case, trafficPolicy, port, mode) => {
    expect(tlsModeFor(policy(trafficPolicy), port)).toBe(mode);
  });
});

describe('originatesTls', () => {
  it.each([
    ['SIMPLE', true],
    ['MUTUAL', true],
    ['ISTIO_MUTUAL', false],
    ['DISABLE', false],
    [undefined, false],
  ])('mode %s -> %s', (mode, originates) => {
    expect(originatesTls(policy(mode === undefined ? {} : { tls: { mode } }), 80)).toBe(originates);
  });
});

describe('isRuleVisibleFrom', () => {
  it.each([
    [[], 'anywhere', true],
    [['*'], 'anywhere', true],
    [['.'], 'external', true],
    [['.'], 'shop', false],
    [['shop'], 'shop', true],
    [['shop'], 'external', false],
  ])('exportTo %j seen from %s -> %s', (exportTo, namespace, visible) => {
    expect(isRuleVisibleFrom(destinationRule({ spec: { exportTo } }), namespace)).toBe(visible);
  });
});

describe('ruleAppliesTo', () => {
  const forHost = (host: string): DestinationRuleView => destinationRule({ spec: { host } });
  it.each([
    ['oss-cn-shanghai.aliyuncs.com', 'OSS-CN-SHANGHAI.aliyuncs.com.', true],
    ['oss-cn-shanghai.aliyuncs.com', 'oss-cn-beijing.aliyuncs.com', false],
    ['*.aliyuncs.com', 'oss-cn-shanghai.aliyuncs.com', true],
    ['*.aliyuncs.com', 'aliyuncs.com', false],
    ['*aliyuncs.com', 'oss.aliyuncs.com', true],
    ['*', 'example.com', true],
    ['*.aliyuncs.com', '*.aliyuncs.com', true],
    ['', 'example.com', false],
  ])('rule host %j applies to %j -> %s', (ruleHost, host, applies) => {
    expect(ruleAppliesTo(forHost(ruleHost), host)).toBe(applies);
  });
});
