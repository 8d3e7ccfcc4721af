import { describe, expect, it } from '@jest/globals';
import type { AdmissionRequest } from '../admission/types.js';
import { formatKind, type ReviewOutcome } from '../admission/webhook.js';
import { reviewIdentity } from '../admission/codec.js';
import { createLogger } from '../log.js';
import { reviewLine } from './review-line.js';

const SERVICE_ENTRY = { group: 'networking.istio.io', version: 'v1', kind: 'ServiceEntry' };
const POD = { group: '', version: 'v1', kind: 'Pod' };

function request(overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'uid-1',
    kind: SERVICE_ENTRY,
    operation: 'CREATE',
    namespace: 'external',
    name: 'partner-apis',
    object: {},
    ...overrides,
  } as AdmissionRequest;
}

/** The line the recorder's logger writes for this review, parsed. */
function written(review: AdmissionRequest, outcome: ReviewOutcome, micros: number): Record<string, unknown> {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) }).child({
    webhook: 'validate-serviceentries',
  });
  logger.info(reviewLine(reviewIdentity(review), outcome, micros), 'review');
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

const allowed: ReviewOutcome = { answer: { allowed: true }, decision: 'allowed' };

describe('the review log line', () => {
  it.each<[string, AdmissionRequest, ReviewOutcome, number]>([
    ['an allowed ServiceEntry', request(), allowed, 123],
    [
      'a patched pod known only by generateName',
      request({ kind: POD, name: undefined, object: { metadata: { generateName: 'web-7d4b9c6f5-' } } }),
      {
        answer: { allowed: true, patchType: 'JSONPatch' },
        decision: 'patched',
        rules: ['ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE'],
      },
      1500,
    ],
    [
      'a denial with warnings, in a dry run',
      request({ dryRun: true }),
      { answer: { allowed: false, warnings: ['a', 'b'] }, decision: 'denied', rules: ['wildcard-dns'] },
      2000,
    ],
    [
      'a skip with its reason',
      request({ operation: 'DELETE' }),
      { answer: { allowed: true }, decision: 'skipped', reason: 'operation' },
      0,
    ],
    ['no namespace and no name', request({ namespace: undefined, name: undefined }), allowed, 7],
    [
      'a name from the object when the review has none',
      request({ name: '', object: { metadata: { name: 'from-object' } } }),
      allowed,
      1,
    ],
    [
      'strings JSON must escape',
      request({
        uid: 'a"b\\c',
        name: 'tab\there',
        namespace: 'new\nline',
        kind: { group: 'g"', version: 'v\u0001', kind: 'K\u2028' },
      }),
      allowed,
      999_999,
    ],
    ['a long uid', request({ uid: 'x'.repeat(300) }), allowed, 10],
    [
      'a damaged review whose namespace and name are not strings',
      request({ namespace: 7 as unknown as string, name: { a: ['b'] } as unknown as string }),
      allowed,
      10,
    ],
    ['a damaged name beside a plain namespace', request({ name: { a: 1 } as unknown as string }), allowed, 10],
    ['a plain name beside a damaged namespace', request({ namespace: 7 as unknown as string }), allowed, 10],
  ])('shows %s', (_name, review, outcome, micros) => {
    const line = written(review, outcome, micros);
    const { level, time, service, webhook, msg, ...fields } = line;
    expect({ level, service, webhook, msg }).toEqual({
      level: 30,
      service: 'egress-guard',
      webhook: 'validate-serviceentries',
      msg: 'review',
    });
    expect(typeof time).toBe('number');
    const identity = reviewIdentity(review);
    const expected: Record<string, unknown> = { uid: identity.uid, kind: formatKind(review.kind) };
    if (identity.namespace) expected.namespace = identity.namespace;
    if (identity.name !== undefined) expected.name = identity.name;
    expected.operation = identity.operation;
    expected.dryRun = review.dryRun === true;
    expected.decision = outcome.decision;
    if (outcome.reason) expected.reason = outcome.reason;
    if (outcome.rules?.length) expected.rules = outcome.rules;
    if (outcome.answer.warnings?.length) expected.warnings = outcome.answer.warnings.length;
    expected.durationMs = micros / 1000;
    expect(fields).toEqual(expected);
  });

  it('names a pod known only by generateName as its prefix and a star', () => {
    const review = request({ kind: POD, name: undefined, object: { metadata: { generateName: 'web-7d4b9c6f5-' } } });
    expect(written(review, allowed, 1).name).toBe('web-7d4b9c6f5-*');
  });

  it('shows the duration in milliseconds, to the microsecond', () => {
    expect(written(request(), allowed, 1500).durationMs).toBe(1.5);
    expect(written(request(), allowed, 7).durationMs).toBe(0.007);
  });

  it('leaves out a reason, rules and warnings the outcome does not have', () => {
    const keys = Object.keys(written(request(), allowed, 1));
    for (const absent of ['reason', 'rules', 'warnings']) expect(keys).not.toContain(absent);
  });
});
