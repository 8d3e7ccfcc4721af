import { describe, expect, it } from '@jest/globals';
import { destinationRule, ossDemo, serviceEntry } from '../../test/fixtures/service-entries.js';
import { toServiceEntryView } from '../istio/service-entry.js';
import { LAST_APPLIED_ANNOTATION, ViewCompactor } from './compact-views.js';
import { HostIndex } from './host-index.js';

const lastApplied = JSON.stringify(ossDemo);

describe('ViewCompactor', () => {
  it('copies a ServiceEntry view field for field', () => {
    const view = serviceEntry(ossDemo, {
      metadata: { uid: 'u-1', resourceVersion: '7', labels: { team: 'storage' }, annotations: { 'egress-guard.io/expected-ports': '80,443' } },
      spec: { exportTo: ['.'], addresses: ['240.0.0.10'] },
    });
    const copy = new ViewCompactor().serviceEntry(view);
    expect(copy).toStrictEqual(view);
    expect(copy).not.toBe(view);
  });

  it("drops kubectl's last-applied copy of the object and nothing else", () => {
    const view = serviceEntry(ossDemo, { metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied, owner: 'storage' } } });
    expect({ ...new ViewCompactor().serviceEntry(view).annotations }).toEqual({ owner: 'storage' });
  });

  it('shares one frozen empty list and one frozen null-prototype map between views', () => {
    const compactor = new ViewCompactor();
    const [a, b] = [serviceEntry(ossDemo), serviceEntry(ossDemo, { metadata: { name: 'b', annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied } } })].map((view) =>
      compactor.serviceEntry(view),
    );
    expect(a?.exportTo).toBe(b?.exportTo);
    expect(a?.addresses).toBe(b?.exportTo);
    expect(a?.labels).toBe(b?.annotations);
    expect(Object.isFrozen(a?.labels) && Object.isFrozen(a?.exportTo)).toBe(true);
    expect(Object.getPrototypeOf(a?.labels)).toBeNull();
  });

  it('keeps label maps null-prototype, so a __proto__ label stays data', () => {
    const view = toServiceEntryView(JSON.parse('{"metadata":{"name":"x","labels":{"__proto__":"yes","a":"b"}}}'));
    const copy = new ViewCompactor().serviceEntry(view);
    expect(Object.getPrototypeOf(copy.labels)).toBeNull();
    expect(copy.labels['__proto__']).toBe('yes');
    expect(Object.keys(copy.labels)).toEqual(['__proto__', 'a']);
  });

  it('copies a DestinationRule view field for field', () => {
    const view = destinationRule({ spec: { exportTo: ['.'] } });
    expect(new ViewCompactor().destinationRule(view)).toStrictEqual(view);
  });
});

describe('HostIndex stores compact copies', () => {
  it('without the last-applied annotation', () => {
    const index = new HostIndex();
    index.upsertServiceEntry(serviceEntry(ossDemo, { metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied } } }));
    const [stored] = [...index.serviceEntries()];
    expect(stored?.annotations).toEqual({});
  });
});
