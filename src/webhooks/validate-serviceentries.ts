// POST /validate/serviceentries: denies ServiceEntries that cannot work, warns about ports that will break.
import { allowed, denied } from '../admission/responses.js';
import type { ReviewOutcome, Webhook } from '../admission/webhook.js';
import { toServiceEntryView, type ServiceEntryView } from '../istio/service-entry.js';
import { evaluateServiceEntry } from '../rules/index.js';
import { serviceEntryVerdict } from '../rules/verdict.js';
import type { ClusterView, RuleSettings } from '../rules/types.js';

const ISTIO_NETWORKING_VERSIONS = new Set(['v1', 'v1beta1', 'v1alpha3']);

/** How the webhook sees the rest of the cluster: the object alone, or the informer-backed index. */
export type ClusterViewFor = (entry: ServiceEntryView) => ClusterView;

export function serviceEntryValidator(settings: RuleSettings, clusterViewFor: ClusterViewFor): Webhook {
  return {
    name: 'validate-serviceentries',
    path: '/validate/serviceentries',
    handles: (kind) =>
      kind.group === 'networking.istio.io' && kind.kind === 'ServiceEntry' && ISTIO_NETWORKING_VERSIONS.has(kind.version),
    review(request): ReviewOutcome {
      if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
        return { answer: allowed(), decision: 'skipped', reason: 'operation' };
      }
      const entry = toServiceEntryView(request.object, request.namespace);
      const findings = evaluateServiceEntry(entry, { settings, cluster: clusterViewFor(entry) });
      const rules = [...new Set(findings.map((finding) => finding.rule))];
      const verdict = serviceEntryVerdict(entry, findings);
      if (verdict.denyMessage !== undefined) {
        return { answer: denied(verdict.denyMessage, verdict.warnings), decision: 'denied', rules };
      }
      const decision = verdict.warnings.length > 0 ? 'warned' : 'allowed';
      return { answer: allowed(verdict.warnings), decision, rules };
    },
  };
}
