import { describe, expect, it } from '@jest/globals';
import { skipReason, type SkipReason } from './skip-reasons.js';

function pod(labels: unknown, annotations: unknown = {}, spec: unknown = { containers: [] }): Record<string, unknown> {
  return { metadata: { generateName: 'web-7d4b9c-', labels, annotations }, spec };
}

describe('skipReason', () => {
  it.each<[string, Record<string, unknown>, SkipReason | undefined]>([
    ['a plain pod', pod({ app: 'web' }), undefined],
    ['opt-out label', pod({ 'egress-guard.io/dns-capture': 'disabled' }), 'opted-out'],
    ['opt-out label with another value', pod({ 'egress-guard.io/dns-capture': 'enabled' }), undefined],
    ['opt-out as an annotation is not the contract', pod({}, { 'egress-guard.io/dns-capture': 'disabled' }), undefined],
    // Istio's injector injects only for y/yes/true/on (any case); any other non-empty value turns it off.
    ['inject label "false"', pod({ 'sidecar.istio.io/inject': 'false' }), 'injection-disabled'],
    ['inject annotation "false"', pod({}, { 'sidecar.istio.io/inject': 'false' }), 'injection-disabled'],
    ['inject annotation "no"', pod({}, { 'sidecar.istio.io/inject': 'no' }), 'injection-disabled'],
    ['inject label "off"', pod({ 'sidecar.istio.io/inject': 'off' }), 'injection-disabled'],
    ['inject label "disabled"', pod({ 'sidecar.istio.io/inject': 'disabled' }), 'injection-disabled'],
    ['inject label "TRUE"', pod({ 'sidecar.istio.io/inject': 'TRUE' }), undefined],
    ['inject annotation "yes"', pod({}, { 'sidecar.istio.io/inject': 'yes' }), undefined],
    ['inject label "On"', pod({ 'sidecar.istio.io/inject': 'On' }), undefined],
    ['inject label empty (namespace default decides)', pod({ 'sidecar.istio.io/inject': '' }), undefined],
    [
      'label "true" wins over annotation "false"',
      pod({ 'sidecar.istio.io/inject': 'true' }, { 'sidecar.istio.io/inject': 'false' }),
      undefined,
    ],
    [
      'empty label wins over annotation "false"',
      pod({ 'sidecar.istio.io/inject': '' }, { 'sidecar.istio.io/inject': 'false' }),
      undefined,
    ],
    [
      'label "false" wins over annotation "true"',
      pod({ 'sidecar.istio.io/inject': 'false' }, { 'sidecar.istio.io/inject': 'true' }),
      'injection-disabled',
    ],
    ['hostNetwork: true', pod({}, {}, { hostNetwork: true }), 'host-network'],
    ['hostNetwork: false', pod({}, {}, { hostNetwork: false }), undefined],
    ['hostNetwork: "true" (not a boolean)', pod({}, {}, { hostNetwork: 'true' }), undefined],
    ['ambient', pod({ 'istio.io/dataplane-mode': 'ambient' }), 'ambient'],
    ['dataplane-mode none', pod({ 'istio.io/dataplane-mode': 'none' }), undefined],
    ['labels not a map', pod('egress-guard.io/dns-capture=disabled'), undefined],
    [
      'label values not strings',
      pod({ 'sidecar.istio.io/inject': false, 'egress-guard.io/dns-capture': null }),
      undefined,
    ],
    ['no metadata', { spec: { hostNetwork: true } }, 'host-network'],
    [
      'inherited names do not count',
      pod(Object.create({ 'egress-guard.io/dns-capture': 'disabled' }) as unknown),
      undefined,
    ],
  ])('%s', (_name, input, reason) => {
    expect(skipReason(input)).toBe(reason);
  });
});
