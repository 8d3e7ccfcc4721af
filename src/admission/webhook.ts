// The seam between the HTTP layer and policy: a webhook turns one AdmissionRequest into one answer.
import { allowed, type Answer } from './responses.js';
import type { AdmissionRequest, GroupVersionKind } from './types.js';

/** The label a review's answer carries in logs and metrics. */
export type Decision = 'patched' | 'allowed' | 'warned' | 'denied' | 'skipped' | 'misrouted';

export interface ReviewOutcome {
  answer: Answer;
  decision: Decision;
  /** Rule ids that fired (validation) or keys that were added (mutation). */
  rules?: readonly string[];
  /** Why a review was skipped, or what made it unusual; a bounded set, safe as a metric label. */
  reason?: string;
}

export interface Webhook {
  /** Short name for logs and metric labels, e.g. `mutate-pods`. */
  readonly name: string;
  readonly path: string;
  /** Kinds this webhook is written for; anything else means its configuration's rules are wrong. */
  handles(kind: GroupVersionKind): boolean;
  review(request: AdmissionRequest): ReviewOutcome;
}

/**
 * The one dispatch point. A kind the webhook does not handle is allowed (failing closed would block
 * unrelated objects cluster-wide) with a warning the person at kubectl can pass to the operator.
 */
export function dispatch(webhook: Webhook, request: AdmissionRequest): ReviewOutcome {
  if (!webhook.handles(request.kind)) {
    const kind = formatKind(request.kind);
    return {
      answer: allowed([
        `egress-guard ${webhook.path} does not handle ${kind}; its webhook configuration's rules are wrong`,
      ]),
      decision: 'misrouted',
      reason: 'unhandled-kind',
    };
  }
  return webhook.review(request);
}

export function formatKind(kind: GroupVersionKind): string {
  const group = kind.group ? `${kind.group}/` : '';
  return `${group}${kind.version || '?'} ${kind.kind || '(no kind)'}`;
}
