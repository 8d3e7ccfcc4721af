// The fields of the one log line each review writes; the recorder's logger adds `webhook`.
import { formatKind, type ReviewOutcome } from '../admission/webhook.js';
import type { ReviewIdentity } from '../admission/codec.js';

/** What a review's line shows; pino leaves out the fields that are undefined. */
export interface ReviewLine {
  uid: string;
  kind: string;
  namespace: string | undefined;
  name: string | undefined;
  operation: string;
  dryRun: boolean;
  decision: string;
  reason: string | undefined;
  rules: readonly string[] | undefined;
  warnings: number | undefined;
  durationMs: number;
}

/** From the review's identity, whose texts the codec has clipped, never from the review's own values. */
export function reviewLine(review: ReviewIdentity, outcome: ReviewOutcome, durationMicros: number): ReviewLine {
  const warnings = outcome.answer.warnings?.length ?? 0;
  return {
    uid: review.uid,
    kind: formatKind(review.kind),
    namespace: review.namespace || undefined,
    name: review.name,
    operation: review.operation,
    dryRun: review.dryRun,
    decision: outcome.decision,
    reason: outcome.reason || undefined,
    rules: outcome.rules?.length ? outcome.rules : undefined,
    warnings: warnings > 0 ? warnings : undefined,
    durationMs: durationMicros / 1000,
  };
}
