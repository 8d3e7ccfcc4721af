// Which namespaces the mutating webhook serves (deploy/base/webhooks.yaml's namespaceSelector), and how its
// plan for a pod reads to a person. Shared by `check` (previews) and `audit` (pods created without it). Pure.
import type { AutoAllocateMode } from '../config.js';
import {
  OPT_OUT_LABEL,
  PROXY_CONFIG_ANNOTATION,
  wantedProxyMetadata,
  type PodMutationPlan,
  type SkipReason,
} from '../mutation/pod-mutation.js';
import { DATAPLANE_MODE_LABEL, SIDECAR_INJECT } from '../mutation/skip-reasons.js';

/** The namespace label that opts a namespace in; the same key, set to `disabled` on a pod, opts the pod out. */
export const OPT_IN_LABEL = OPT_OUT_LABEL;
export const OPT_IN_VALUE = 'enabled';
export const OPT_IN_SELECTOR = `${OPT_IN_LABEL}=${OPT_IN_VALUE}`;
/** Excluded by name in the webhook's namespaceSelector, whatever their labels say. */
export const NEVER_MUTATED_NAMESPACES: readonly string[] = ['kube-system', 'egress-guard'];

export function isMutatedNamespace(name: string, labels: Readonly<Record<string, string>>): boolean {
  return labels[OPT_IN_LABEL] === OPT_IN_VALUE && !NEVER_MUTATED_NAMESPACES.includes(name);
}

const SKIP_EXPLANATIONS: Readonly<Record<SkipReason, string>> = {
  'opted-out': `skipped: the label ${OPT_OUT_LABEL}=disabled opts it out`,
  'injection-disabled': `skipped: sidecar injection is off (${SIDECAR_INJECT}), so there is no proxy to configure`,
  'host-network': 'skipped: hostNetwork pods get no sidecar',
  ambient: `skipped: ambient pods (${DATAPLANE_MODE_LABEL}=ambient) have no sidecar; ztunnel proxies their DNS`,
};

export interface PlanDescription {
  message: string;
  /** The webhook leaves the pod alone (skipped, or an annotation it cannot edit). */
  notApplicable: boolean;
}

/** One sentence for the plan, its warnings appended: what the webhook would do to a pod created from this. */
export function describePlan(plan: PodMutationPlan, mode: AutoAllocateMode): PlanDescription {
  const withWarnings = (message: string) => [message, ...plan.warnings].join('; ');
  switch (plan.outcome) {
    case 'patched':
      return {
        message: withWarnings(`would add proxyMetadata ${plan.added.join(', ')} to ${PROXY_CONFIG_ANNOTATION}`),
        notApplicable: false,
      };
    case 'unchanged':
      // Its warnings name any key the pod sets to another value (which it keeps).
      return {
        message: withWarnings(
          `nothing to add: ${PROXY_CONFIG_ANNOTATION} already sets ${Object.keys(wantedProxyMetadata(mode)).join(', ')}`,
        ),
        notApplicable: false,
      };
    case 'skipped':
      return { message: withWarnings(SKIP_EXPLANATIONS[plan.reason]), notApplicable: true };
    case 'invalid-annotation':
      // The warnings already say what is wrong and that the pod is left unchanged.
      return {
        message:
          plan.warnings.join('; ') || `${PROXY_CONFIG_ANNOTATION} cannot be edited; the pod would be left unchanged`,
        notApplicable: true,
      };
  }
}
