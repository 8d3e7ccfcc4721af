import { describe, expect, it } from '@jest/globals';
import { decodeReview, serializeReview } from './codec.js';
import { allowed, denied, patched, type Answer } from './responses.js';
import { ADMISSION_API_VERSION, type AdmissionReview } from './types.js';

const review = (uid: string, answer: Answer): AdmissionReview => ({
  apiVersion: ADMISSION_API_VERSION,
  kind: 'AdmissionReview',
  response: { uid, ...answer },
});

describe('serializeReview', () => {
  it.each<[string, string, Answer]>([
    ['allowed', 'a1', allowed()],
    ['allowed with warnings', 'a2', allowed(['port 80 undeclared', 'second'])],
    ['denied with quotes, backslashes and a newline', 'd2', denied('say "no"\\ \n and \u2028', ['w "1"'])],
    [
      'patched with warnings',
      'p2',
      patched([{ op: 'add', path: '/a', value: 1 }], ['kept ISTIO_META_DNS_CAPTURE="false"']),
    ],
    ['a uid that needs escaping', 'uid "\\\u0001 ✓', allowed()],
  ])('writes the AdmissionReview v1 answering the uid: %s', (_name, uid, answer) => {
    expect(JSON.parse(serializeReview(uid, answer))).toEqual(review(uid, answer));
  });
});

describe('decodeReview', () => {
  const body = (kind: unknown) => ({
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: { uid: 'u1', operation: 'CREATE', kind, object: { a: 1 } },
  });

  it('passes a well-formed request through with its kind and fields', () => {
    const kind = { group: 'networking.istio.io', version: 'v1', kind: 'ServiceEntry' };
    const decoded = decodeReview(body(kind));
    expect(decoded).toMatchObject({ ok: true, request: { uid: 'u1', operation: 'CREATE', kind, object: { a: 1 } } });
  });

  it.each<[string, unknown, { group: string; version: string; kind: string }]>([
    ['missing', undefined, { group: '', version: '', kind: '' }],
    ['a string', 'Pod', { group: '', version: '', kind: '' }],
    ['an array', ['v1', 'Pod'], { group: '', version: '', kind: '' }],
    ['partly numbers', { group: '', version: 1, kind: 'Pod' }, { group: '', version: '', kind: 'Pod' }],
  ])(
    'reads a malformed kind (%s) as strings, so the webhook answers it as a kind it does not handle',
    (_name, kind, expected) => {
      const decoded = decodeReview(body(kind));
      expect(decoded.ok && decoded.request.kind).toEqual(expected);
      expect(decoded.ok && decoded.request.object).toEqual({ a: 1 });
    },
  );
});

describe('decodeReview: what a log line may show of a review', () => {
  const request = (fields: Record<string, unknown>) => ({
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: {
      uid: 'u1',
      operation: 'CREATE',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'shop',
      object: { metadata: { generateName: 'web-5d9c7b-' } },
      ...fields,
    },
  });
  const identityOf = (fields: Record<string, unknown>) => {
    const decoded = decodeReview(request(fields));
    if (!decoded.ok) throw new Error(decoded.problem);
    return decoded.identity;
  };

  it('names a ReplicaSet pod by its generateName, and leaves an ordinary review as it is', () => {
    expect(identityOf({})).toEqual({
      uid: 'u1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'shop',
      name: 'web-5d9c7b-*',
      operation: 'CREATE',
      dryRun: false,
    });
  });

  it('clips a 6 MiB uid, namespace, name and operation to 253 characters, and keeps the uid whole for the answer', () => {
    const huge = 'x'.repeat(6 * 1024 * 1024);
    const decoded = decodeReview(request({ uid: huge, namespace: huge, name: huge, operation: huge }));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const { uid, namespace, name, operation } = decoded.identity;
    for (const text of [uid, namespace, name, operation]) expect(text).toHaveLength(253);
    expect(decoded.request.uid).toBe(huge);
  });

  it('clips a name from the object and describes a namespace that is not a string, however deep', () => {
    let deep: unknown = [];
    for (let level = 0; level < 100_000; level++) deep = [deep];
    const identity = identityOf({ namespace: deep, object: { metadata: { generateName: 'g'.repeat(100_000) } } });
    expect(identity.namespace).toBe('[[[[[…]]]]]');
    expect(identity.name!.length).toBeLessThanOrEqual(253);
  });

  it('reads a kind of over-long strings as a kind the webhook does not handle, its texts clipped', () => {
    const decoded = decodeReview(request({ kind: { group: '', version: 'v1', kind: `Pod${'d'.repeat(1000)}` } }));
    expect(decoded.ok && decoded.request.kind.kind).toHaveLength(253);
  });

  it('refuses a review whose own kind is nested 100,000 levels deep with a short problem, not a thrown error', () => {
    let deep: unknown = [];
    for (let level = 0; level < 100_000; level++) deep = [deep];
    const decoded = decodeReview({ apiVersion: ADMISSION_API_VERSION, kind: deep });
    expect(decoded).toEqual({ ok: false, problem: 'kind is [[[[[…]]]]]; expected "AdmissionReview"' });
  });
});
