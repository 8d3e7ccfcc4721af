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
    expect(decoded).toEqual({ ok: true, request: { uid: 'u1', operation: 'CREATE', kind, object: { a: 1 } } });
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
