import { describe, expect, it } from '@jest/globals';
import { keptKeyWarning, leftUnchangedWarning, MAX_WARNING_LENGTH, optOutValueWarning } from './warnings.js';

describe('warnings stay readable on one kubectl line', () => {
  it('says what egress-guard did when there is room, and drops words before cutting the problem', () => {
    expect(leftUnchangedWarning('proxy.istio.io/config', 'is a list, not a mapping')).toBe(
      'proxy.istio.io/config is a list, not a mapping; egress-guard left the pod unchanged',
    );
    const medium = `cannot be parsed (line 1, column 4: ${'m'.repeat(30)})`;
    expect(leftUnchangedWarning('proxy.istio.io/config', medium)).toBe(
      `proxy.istio.io/config ${medium}; pod left unchanged`,
    );
    const long = `sets proxyMetadata.${'K'.repeat(30)} to unquoted true; Istio needs a quoted string`;
    expect(leftUnchangedWarning('proxy.istio.io/config', long)).toBe(`proxy.istio.io/config ${long}`);
    const tooLong = `sets proxyMetadata.${'K'.repeat(120)} to null`;
    const cut = leftUnchangedWarning('proxy.istio.io/config', tooLong);
    expect(cut).toHaveLength(MAX_WARNING_LENGTH);
    expect(cut.endsWith('…')).toBe(true);
  });

  it.each([
    [
      { key: 'ISTIO_META_DNS_CAPTURE', value: 'false' },
      'pod keeps its own proxyMetadata ISTIO_META_DNS_CAPTURE="false"; DNS capture stays off',
    ],
    [
      { key: 'ISTIO_META_DNS_CAPTURE', value: 'True' },
      'pod keeps its own proxyMetadata ISTIO_META_DNS_CAPTURE="True", which Istio reads as true',
    ],
    [
      { key: 'ISTIO_META_DNS_CAPTURE', value: '' },
      'pod keeps its own proxyMetadata ISTIO_META_DNS_CAPTURE=""; DNS capture stays off',
    ],
    [
      { key: 'ISTIO_META_DNS_AUTO_ALLOCATE', value: 'false' },
      'pod keeps its own proxyMetadata ISTIO_META_DNS_AUTO_ALLOCATE="false"; ServiceEntry hosts get no auto-allocated IPs',
    ],
    [{ key: 'SOME_FUTURE_KEY', value: 'x' }, 'pod keeps its own proxyMetadata SOME_FUTURE_KEY="x"'],
    [
      { key: 'ISTIO_META_DNS_CAPTURE', value: `no\n${'x'.repeat(100)}` },
      `pod keeps its own proxyMetadata ISTIO_META_DNS_CAPTURE="no\\n${'x'.repeat(19)}…"; DNS capture stays off`,
    ],
  ])('kept key %j', (kept, warning) => {
    expect(keptKeyWarning(kept)).toBe(warning);
    expect(warning.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
  });

  it('quotes a mistyped opt-out value', () => {
    expect(optOutValueWarning('off')).toBe(
      'label egress-guard.io/dns-capture="off" has no effect; only "disabled" opts out',
    );
  });
});
