import { describe, expect, it } from '@jest/globals';
import { describePlan, isMutatedNamespace } from './dns-capture.js';

describe('isMutatedNamespace', () => {
  it.each([
    ['shop', { 'egress-guard.io/dns-capture': 'enabled' }, true],
    ['shop', { 'egress-guard.io/dns-capture': 'Enabled' }, false],
    ['shop', {}, false],
    ['kube-system', { 'egress-guard.io/dns-capture': 'enabled' }, false],
    ['egress-guard', { 'egress-guard.io/dns-capture': 'enabled' }, false],
  ])('%s %j -> %s', (name, labels, expected) => {
    expect(isMutatedNamespace(name, labels)).toBe(expected);
  });
});

describe('describePlan', () => {
  it('names the keys of the configured mode', () => {
    expect(describePlan({ outcome: 'unchanged', warnings: [] }, 'controller').message).toBe(
      'nothing to add: proxy.istio.io/config already sets ISTIO_META_DNS_CAPTURE',
    );
  });

  it.each([
    [
      { outcome: 'patched', patch: [], added: ['ISTIO_META_DNS_CAPTURE'], warnings: ['label x has no effect'] },
      'would add proxyMetadata ISTIO_META_DNS_CAPTURE to proxy.istio.io/config; label x has no effect',
      false,
    ],
    [
      { outcome: 'unchanged', warnings: [] },
      'nothing to add: proxy.istio.io/config already sets ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE',
      false,
    ],
    [
      {
        outcome: 'unchanged',
        warnings: ['pod keeps its own proxyMetadata ISTIO_META_DNS_CAPTURE="false"; DNS capture stays off'],
      },
      'nothing to add: proxy.istio.io/config already sets ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE; pod keeps its own proxyMetadata ISTIO_META_DNS_CAPTURE="false"; DNS capture stays off',
      false,
    ],
    [
      { outcome: 'skipped', reason: 'opted-out', warnings: [] },
      'skipped: the label egress-guard.io/dns-capture=disabled opts it out',
      true,
    ],
    [
      { outcome: 'skipped', reason: 'injection-disabled', warnings: [] },
      'skipped: sidecar injection is off (sidecar.istio.io/inject), so there is no proxy to configure',
      true,
    ],
    [{ outcome: 'skipped', reason: 'host-network', warnings: [] }, 'skipped: hostNetwork pods get no sidecar', true],
    [
      {
        outcome: 'invalid-annotation',
        warnings: ['proxy.istio.io/config is a number, not a string; pod left unchanged'],
      },
      'proxy.istio.io/config is a number, not a string; pod left unchanged',
      true,
    ],
  ] as const)('%j', (plan, message, notApplicable) => {
    expect(
      describePlan({ ...plan, warnings: [...plan.warnings] } as Parameters<typeof describePlan>[0], 'agent'),
    ).toEqual({ message, notApplicable });
  });
});
