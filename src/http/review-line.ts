// The fields of the one log line each review writes; the recorder's logger adds `webhook`.
import { formatKind, type ReviewOutcome } from '../admission/webhook.js';
import type { AdmissionRequest } from '../admission/types.js';

/** What a review's line shows; pino leaves out the fields that are undefined. */
export interface ReviewLine {
  uid: string;
  kind: string;
  /** As the review brought it: the codec checks only uid and operation, so a damaged review's may be any JSON value. */
  namespace: unknown;
  name: unknown;
  operation: string;
  dryRun: boolean;
  decision: string;
  reason: string | undefined;
  rules: readonly string[] | undefined;
  warnings: number | undefined;
  durationMs: number;
}

export function reviewLine(review: AdmissionRequest, outcome: ReviewOutcome, durationMicros: number): ReviewLine {
  const warnings = outcome.answer.warnings?.length ?? 0;
  return {
    uid: review.uid,
    kind: formatKind(review.kind),
    namespace: review.namespace || undefined,
    name: nameOf(review),
    operation: review.operation,
    dryRun: review.dryRun === true,
    decision: outcome.decision,
    reason: outcome.reason || undefined,
    rules: outcome.rules?.length ? outcome.rules : undefined,
    warnings: warnings > 0 ? warnings : undefined,
    durationMs: durationMicros / 1000,
  };
}

/** The object's name; pods from ReplicaSets have only generateName at admission, shown as `prefix-*`. */
export function nameOf(review: AdmissionRequest): string | undefined {
  if (review.name) return review.name;
  const metadata = (review.object as { metadata?: { name?: unknown; generateName?: unknown } } | undefined)?.metadata;
  if (typeof metadata?.name === 'string' && metadata.name) return metadata.name;
  return typeof metadata?.generateName === 'string' ? `${metadata.generateName}*` : undefined;
}
