// The fields of the one log line each review writes, serialised knowing their shape (see preformattedLines in
// log.ts for why). Field for field what pino would write for the object { uid, kind, namespace, name, operation,
// dryRun, decision, reason, rules, warnings, durationMs }: review-line.test.ts holds the two to each other.
// The record is gathered during the review; its text may be made later, when the line's batch is written.
import { formatKind, type Decision, type ReviewOutcome } from '../admission/webhook.js';
import type { AdmissionRequest, GroupVersionKind } from '../admission/types.js';

/**
 * What a review's line shows, copied out of the review: the line may be held until its batch is written
 * (preformattedLines), and holding the review itself would keep its whole object alive until then.
 */
export interface ReviewLineRecord {
  uid: string;
  kind: GroupVersionKind;
  /** As the review brought it: the codec checks only uid and operation, so a damaged review's may be any JSON value. */
  namespace: unknown;
  name: unknown;
  operation: string;
  dryRun: boolean;
  decision: Decision;
  reason: string | undefined;
  rules: readonly string[] | undefined;
  warnings: number;
  durationMicros: number;
}

export function reviewLineRecord(
  review: AdmissionRequest,
  outcome: ReviewOutcome,
  durationMicros: number,
): ReviewLineRecord {
  return {
    uid: review.uid,
    kind: review.kind,
    namespace: review.namespace,
    name: nameOf(review),
    operation: review.operation,
    dryRun: review.dryRun === true,
    decision: outcome.decision,
    reason: outcome.reason,
    rules: outcome.rules,
    warnings: outcome.answer.warnings?.length ?? 0,
    durationMicros,
  };
}

/** `,"uid":"…","kind":"…",…`: the review's fields, for preformattedLines. */
export function reviewLineFields(line: ReviewLineRecord): string {
  const { uid, namespace, name, operation } = line;
  const kind = formatKind(line.kind);
  // The strings the review brought, checked for anything JSON escapes in one scan of them all: the API server's are
  // plain. (A scan per string, by charCodeAt, was 2.9k instructions of a ServiceEntry review under callgrind.)
  const plain =
    (namespace === undefined || typeof namespace === 'string') &&
    (name === undefined || typeof name === 'string') &&
    !NEEDS_ESCAPING.test(
      `${uid}${kind}${(namespace as string | undefined) ?? ''}${(name as string | undefined) ?? ''}${operation}`,
    );
  let fields = `,"uid":${quoted(uid, plain)},"kind":${quoted(kind, plain)}`;
  if (namespace) fields += `,"namespace":${quoted(namespace, plain)}`;
  if (name !== undefined) fields += `,"name":${quoted(name, plain)}`;
  fields += `,"operation":${quoted(operation, plain)},"dryRun":${line.dryRun},"decision":"${line.decision}"`;
  if (line.reason) fields += `,"reason":${labelJson(line.reason)}`;
  if (line.rules?.length) fields += `,"rules":${labelsJson(line.rules)}`;
  if (line.warnings > 0) fields += `,"warnings":${line.warnings}`;
  return `${fields},"durationMs":${millisecondsText(line.durationMicros)}`;
}

/** What JSON.stringify escapes in a string: control characters, `"`, `\`, and surrogates (it escapes the lone ones). */
const NEEDS_ESCAPING = /[\u0000-\u001f"\\\ud800-\udfff]/;

function quoted(value: unknown, plain: boolean): string {
  return plain ? `"${value as string}"` : jsonValue(value);
}

/** The object's name; pods from ReplicaSets have only generateName at admission, shown as `prefix-*`. */
export function nameOf(review: AdmissionRequest): string | undefined {
  if (review.name) return review.name;
  const metadata = (review.object as { metadata?: { name?: unknown; generateName?: unknown } } | undefined)?.metadata;
  if (typeof metadata?.name === 'string' && metadata.name) return metadata.name;
  return typeof metadata?.generateName === 'string' ? `${metadata.generateName}*` : undefined;
}

/**
 * JSON.stringify(text), skipping its setup for the short, plain strings a review's names are: JSON.stringify of a
 * string cost about 220 ns, a regular-expression scan of a DNS name a fraction of that.
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPING.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * The codec checks only uid and operation: in a damaged review, namespace and name can be any JSON value. Written
 * as they came, as pino would write them.
 */
function jsonValue(value: unknown): string {
  return typeof value === 'string' ? jsonString(value) : (JSON.stringify(value) ?? 'null');
}

/**
 * Reasons and rule ids are ours and few (they are metric labels too), and arrive as the same strings every time:
 * their JSON is remembered, a Map lookup on a string whose hash V8 keeps, instead of a scan per review.
 */
const LABEL_JSON = new Map<string, string>();
/** A bound all the same, should a label ever come from data. */
const MAX_LABELS_REMEMBERED = 256;

function labelJson(label: string): string {
  let json = LABEL_JSON.get(label);
  if (json === undefined) {
    json = jsonString(label);
    if (LABEL_JSON.size < MAX_LABELS_REMEMBERED) LABEL_JSON.set(label, json);
  }
  return json;
}

function labelsJson(labels: readonly string[]): string {
  let json = '[';
  for (let index = 0; index < labels.length; index++)
    json += (index === 0 ? '' : ',') + labelJson(labels[index] as string);
  return `${json}]`;
}

/** ".001" to ".999" with trailing zeros dropped, by the thousandths they stand for; "" for none. */
const THOUSANDTHS = Array.from({ length: 1000 }, (_, count) =>
  count === 0 ? '' : `.${String(count).padStart(3, '0').replace(/0+$/, '')}`,
);

/**
 * String(micros / 1000) for a whole, non-negative number of microseconds, without formatting a fraction: V8 turns
 * a non-integer double into text in about 300 ns, an integer from its cache.
 */
export function millisecondsText(micros: number): string {
  if (!Number.isSafeInteger(micros) || micros < 0) return String(micros / 1000);
  const whole = Math.floor(micros / 1000);
  return `${whole}${THOUSANDTHS[micros - whole * 1000] as string}`;
}
