// POST /mutate/pods: adds Istio DNS-capture proxy metadata to pods. Never denies a pod for our own reasons.
import { allowed, patched } from '../admission/responses.js';
import type { ReviewOutcome, Webhook } from '../admission/webhook.js';
import type { AutoAllocateMode } from '../config.js';
import { MergeCache, type Merge } from '../mutation/merge-cache.js';
import { planPodMutation } from '../mutation/pod-mutation.js';

/**
 * `merge` defaults to mergeProxyMetadata behind a bounded cache of its own: replicas of a Deployment carry the same
 * annotation text, so a rollout of a hundred pods parses and edits the YAML once.
 */
export function podMutator(mode: AutoAllocateMode, merge: Merge = new MergeCache().merge): Webhook {
  return {
    name: 'mutate-pods',
    path: '/mutate/pods',
    handles: (kind) => kind.group === '' && kind.kind === 'Pod',
    review(request): ReviewOutcome {
      // Only CREATE: Istio renders the sidecar once, at creation; later operations cannot change it.
      if (request.operation !== 'CREATE') return { answer: allowed(), decision: 'skipped', reason: 'operation' };
      if (request.subResource) return { answer: allowed(), decision: 'skipped', reason: 'subresource' };
      const plan = planPodMutation(request.object, mode, merge);
      switch (plan.outcome) {
        case 'patched':
          return {
            answer: patched(plan.patch, plan.warnings),
            decision: 'patched',
            rules: plan.added,
          };
        case 'unchanged':
          return { answer: allowed(plan.warnings), decision: 'allowed', reason: 'already-set' };
        case 'skipped':
          return { answer: allowed(plan.warnings), decision: 'skipped', reason: plan.reason };
        case 'invalid-annotation':
          return { answer: allowed(plan.warnings), decision: 'skipped', reason: 'invalid-annotation' };
      }
    },
  };
}
