import { describe, expect, it } from '@jest/globals';
import { destinationRule, ossDemo, serviceEntry } from '../../test/fixtures/service-entries.js';
import { toServiceEntryView } from '../istio/service-entry.js';
import { ViewCompactor } from './compact-views.js';

const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
const AUTOALLOCATE = 'networking.istio.io/enable-autoallocate-ip';
import { HostIndex } from './host-index.js';

const lastApplied = JSON.stringify(ossDemo);

describe('ViewCompactor', () => {
  it('copies a ServiceEntry view field for field', () => {
    const view = serviceEntry(ossDemo, {
      metadata: {
        uid: 'u-1',
        resourceVersion: '7',
        labels: { [AUTOALLOCATE]: 'false' },
        annotations: { 'egress-guard.io/expected-ports': '80,443' },
      },
      spec: { exportTo: ['.'], addresses: ['240.0.0.10'] },
    });
    const copy = new ViewCompactor().serviceEntry(view);
    expect(copy).toStrictEqual(view);
    expect(copy).not.toBe(view);
  });

  it('keeps only the label and annotation the rules read', () => {
    const view = serviceEntry(ossDemo, {
      metadata: {
        labels: { team: 'storage', [AUTOALLOCATE]: 'false' },
        annotations: {
          [LAST_APPLIED_ANNOTATION]: lastApplied,
          owner: 'storage',
          'egress-guard.io/expected-ports': '443',
        },
      },
    });
    const copy = new ViewCompactor().serviceEntry(view);
    expect({ ...copy.labels }).toEqual({ [AUTOALLOCATE]: 'false' });
    expect({ ...copy.annotations }).toEqual({ 'egress-guard.io/expected-ports': '443' });
  });

  it('shares one frozen empty list and one frozen null-prototype map between views', () => {
    const compactor = new ViewCompactor();
    const [a, b] = [
      serviceEntry(ossDemo),
      serviceEntry(ossDemo, { metadata: { name: 'b', annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied } } }),
    ].map((view) => compactor.serviceEntry(view));
    expect(a?.exportTo).toBe(b?.exportTo);
    expect(a?.addresses).toBe(b?.exportTo);
    expect(a?.labels).toBe(b?.annotations);
    expect(Object.isFrozen(a?.labels) && Object.isFrozen(a?.exportTo)).toBe(true);
    expect(Object.getPrototypeOf(a?.labels)).toBeNull();
  });

  it('keeps label maps null-prototype, and a __proto__ label never reaches them', () => {
    const view = toServiceEntryView(
      JSON.parse(`{"metadata":{"name":"x","labels":{"__proto__":"yes","${AUTOALLOCATE}":"false"}}}`),
    );
    const copy = new ViewCompactor().serviceEntry(view);
    expect(Object.getPrototypeOf(copy.labels)).toBeNull();
    expect(Object.keys(copy.labels)).toEqual([AUTOALLOCATE]);
  });

  it('copies a DestinationRule view field for field', () => {
    const view = destinationRule({ spec: { exportTo: ['.'] } });
    expect(new ViewCompactor().destinationRule(view)).toStrictEqual(view);
  });
});

describe('HostIndex stores compact copies', () => {
  it('without the last-applied annotation', () => {
    const index = new HostIndex();
    index.upsertServiceEntry(
      serviceEntry(ossDemo, { metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied } } }),
    );
    const [stored] = [...index.serviceEntries()];
    expect(stored?.annotations).toEqual({});
  });
});
