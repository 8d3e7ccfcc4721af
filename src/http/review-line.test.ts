import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { AdmissionRequest } from '../admission/types.js';
import { formatKind, type ReviewOutcome } from '../admission/webhook.js';
import { createLogger, preformattedLines } from '../log.js';
import { jsonString, millisecondsText, nameOf, reviewLineFields, reviewLineRecord } from './review-line.js';

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

/** What the line held when pino serialised it: the object the review recorder used to pass to logger.info. */
function lineObject(review: AdmissionRequest, outcome: ReviewOutcome, micros: number): Record<string, unknown> {
  const line: Record<string, unknown> = { uid: review.uid, kind: formatKind(review.kind) };
  if (review.namespace) line.namespace = review.namespace;
  const name = nameOf(review);
  if (name !== undefined) line.name = name;
  line.operation = review.operation;
  line.dryRun = review.dryRun === true;
  line.decision = outcome.decision;
  if (outcome.reason) line.reason = outcome.reason;
  if (outcome.rules?.length) line.rules = outcome.rules;
  if (outcome.answer.warnings?.length) line.warnings = outcome.answer.warnings.length;
  line.durationMs = micros / 1000;
  return line;
}

/** The same line written by pino itself and by the preformatted writer, with the clock's digits blanked. */
function bothLines(review: AdmissionRequest, outcome: ReviewOutcome, micros: number, level: 'info' | 'error' = 'info') {
  const written: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void written.push(line) }).child({
    webhook: 'validate-serviceentries',
  });
  logger[level](lineObject(review, outcome, micros), 'review');
  preformattedLines(logger, level, 'review', reviewLineFields).write(reviewLineRecord(review, outcome, micros));
  const [byPino, byHand] = written.map((line) => line.replace(/"time":\d+/, '"time":0'));
  return { byPino: byPino as string, byHand: byHand as string };
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
  ])('is what pino writes for %s', (_name, review, outcome, micros) => {
    const { byPino, byHand } = bothLines(review, outcome, micros);
    expect(byHand).toBe(byPino);
    expect(JSON.parse(byHand)).toMatchObject({
      level: 30,
      service: 'egress-guard',
      webhook: 'validate-serviceentries',
      msg: 'review',
    });
  });

  it('is written at error level for a misrouted review, as pino writes it', () => {
    const { byPino, byHand } = bothLines(
      request(),
      { answer: { allowed: true, warnings: ['w'] }, decision: 'misrouted', reason: 'unhandled-kind' },
      50,
      'error',
    );
    expect(byHand).toBe(byPino);
    expect(JSON.parse(byHand).level).toBe(50);
  });

  it('parses to what pino writes for any names, uids and kinds, damaged ones too', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    // The codec checks uid and operation only: namespace and name can be anything JSON holds.
    const anything = fc.oneof(text, fc.jsonValue()) as fc.Arbitrary<string>;
    fc.assert(
      fc.property(text, anything, anything, text, fc.nat(60_000_000), (uid, namespace, name, kind, micros) => {
        const review = request({ uid, namespace, name, kind: { group: kind, version: 'v1', kind } });
        const { byPino, byHand } = bothLines(review, allowed, micros);
        // pino writes lone surrogates raw and JSON.stringify escapes them: the same string once parsed.
        expect(JSON.parse(byHand)).toEqual(JSON.parse(byPino));
      }),
    );
  });
});

describe('preformattedLines', () => {
  it('reports the level as the logger does, so callers skip formatting a line nobody writes', () => {
    const logger = createLogger('warn', { write: () => undefined });
    expect(preformattedLines(logger, 'info', 'review', reviewLineFields).enabled()).toBe(false);
    expect(preformattedLines(logger, 'error', 'review', reviewLineFields).enabled()).toBe(true);
  });
});

describe('jsonString', () => {
  it('is JSON.stringify for any string, lone surrogates and control characters included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) =>
        expect(jsonString(text)).toBe(JSON.stringify(text)),
      ),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 200 }), (text) =>
        expect(jsonString(text)).toBe(JSON.stringify(text)),
      ),
    );
  });
});

describe('millisecondsText', () => {
  it('is String(micros / 1000) for whole microseconds', () => {
    for (const micros of [0, 1, 10, 100, 120, 999, 1000, 1001, 1010, 1500, 123_456, 30_000_000])
      expect(millisecondsText(micros)).toBe(String(micros / 1000));
    fc.assert(fc.property(fc.nat(), (micros) => expect(millisecondsText(micros)).toBe(String(micros / 1000))));
  });

  it('falls back to String for what is not a whole number of microseconds', () => {
    for (const micros of [1.5, -3, Number.MAX_SAFE_INTEGER + 2])
      expect(millisecondsText(micros)).toBe(String(micros / 1000));
  });
});
