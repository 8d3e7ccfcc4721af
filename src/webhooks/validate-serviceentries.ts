// POST /validate/serviceentries: denies ServiceEntries that cannot work, warns about ports that will break.
import { allowed, denied } from '../admission/responses.js';
import type { ReviewOutcome, Webhook } from '../admission/webhook.js';
import { ISTIO_NETWORKING_VERSIONS } from '../istio/api-versions.js';
import type { DestinationRuleView } from '../istio/destination-rule.js';
import { toServiceEntryView, type ServiceEntryView } from '../istio/service-entry.js';
import { evaluateServiceEntry } from '../rules/index.js';
import { serviceEntryVerdict } from '../rules/verdict.js';
import type { ClusterView, ClusterViewFor, RuleSettings } from '../rules/types.js';
import { serviceEntryLimitProblem } from './serviceentry-limits.js';

const SERVED_VERSIONS: ReadonlySet<string> = new Set(ISTIO_NETWORKING_VERSIONS);
const NO_RULES: readonly string[] = [];

export function serviceEntryValidator(settings: RuleSettings, clusterViewFor: ClusterViewFor): Webhook {
  return {
    name: 'validate-serviceentries',
    path: '/validate/serviceentries',
    handles: (kind) =>
      kind.group === 'networking.istio.io' && kind.kind === 'ServiceEntry' && SERVED_VERSIONS.has(kind.version),
    review(request): ReviewOutcome {
      if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
        return { answer: allowed(), decision: 'skipped', reason: 'operation' };
      }
      // Beyond Istio's schema: refused unread, as the failure policy (Fail) would refuse what cannot be checked.
      const tooLong = serviceEntryLimitProblem(request.object);
      if (tooLong !== undefined) {
        return {
          answer: denied(`egress-guard does not review this ServiceEntry: ${tooLong}, as in Istio's schema`),
          decision: 'denied',
          reason: 'over-schema-limits',
        };
      }
      const entry = toServiceEntryView(request.object, request.namespace);
      const view = clusterViewFor(entry);
      // The object-at-hand view answers from the entry's own memoised facts: a memo in front would cost more.
      const findings = evaluateServiceEntry(entry, {
        settings,
        cluster: view.scope === 'object' ? view : answeringOnce(view),
      });
      // Most entries have no findings: then there is nothing to count, explain or warn about.
      if (findings.length === 0) return { answer: allowed(), decision: 'allowed', rules: NO_RULES };
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

/**
 * Every rule walks the entry's hosts and asks the view about each: answer each question once per review. Admission
 * reads the view synchronously, so within one review an answer cannot change. Maps are keyed by the strings the
 * rules pass (the entry's own), so a repeated question costs two lookups.
 */
export function answeringOnce(view: ClusterView): ClusterView {
  const entries = new Map<string, Map<string, readonly ServiceEntryView[]>>();
  const rules = new Map<string | undefined, Map<string, readonly DestinationRuleView[]>>();
  return {
    stale: view.stale,
    scope: view.scope,
    serviceEntriesForHost(host, namespace) {
      let byHost = entries.get(namespace);
      if (byHost === undefined) entries.set(namespace, (byHost = new Map()));
      let found = byHost.get(host);
      if (found === undefined) byHost.set(host, (found = view.serviceEntriesForHost(host, namespace)));
      return found;
    },
    destinationRulesForHost(host, namespace) {
      let byHost = rules.get(namespace);
      if (byHost === undefined) rules.set(namespace, (byHost = new Map()));
      let found = byHost.get(host);
      if (found === undefined) {
        found =
          namespace === undefined ? view.destinationRulesForHost(host) : view.destinationRulesForHost(host, namespace);
        byHost.set(host, found);
      }
      return found;
    },
  };
}
