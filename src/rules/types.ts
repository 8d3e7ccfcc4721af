// Shared vocabulary of the policy rules. Rules are pure functions: no I/O, no globals, no clocks.
// The server (admission), `egress-guard check` and `egress-guard audit` all call the same rules.
import type { DestinationRuleView } from '../istio/destination-rule.js';
import type { ServiceEntryView } from '../istio/service-entry.js';
import type { IstioTarget } from '../istio/version.js';

export type Severity = 'deny' | 'warn';

export interface Finding {
  /** Stable rule id, used in logs, metrics labels, CLI output and PolicyReports. */
  rule: string;
  severity: Severity;
  /** Short, self-contained sentence; for warnings kubectl prints it on its own `Warning:` line (< 120 chars). */
  message: string;
  /** How to fix it, where that depends on more than the rule (the Istio release, the entry's other fields). */
  fix?: string;
  /** Field path inside the object, e.g. `spec.hosts[1]`. */
  path?: string;
  host?: string;
  /** undeclared-ports: expected ports no visible ServiceEntry declares for `host`, ascending. */
  missingPorts?: readonly number[];
  /** undeclared-ports: ports the visible ServiceEntries declare for `host`, ascending. */
  declaredPorts?: readonly number[];
  /** Cross-object rules: the other ServiceEntries involved, as `namespace/name`, sorted. */
  others?: readonly string[];
  /** Cross-object rules: the ports the finding is about, ascending (unreliable, conflicting, or plaintext-to-TLS). */
  ports?: readonly number[];
  /** conflicting-protocols: this entry's protocol first, then the others' protocols, sorted. */
  protocols?: readonly string[];
}

export type UndeclaredPortsAction = 'warn' | 'deny';

export interface RuleSettings {
  /** Ports a workload is expected to reach on every auto-allocated host (EXPECTED_PORTS, default 80,443). */
  expectedPorts: readonly number[];
  /** Whether port-trap findings warn or deny (UNDECLARED_PORTS_ACTION): undeclared-ports, duplicate-host, conflicting-protocols, http-to-tls-port. */
  undeclaredPortsAction: UndeclaredPortsAction;
  /** The Istio release judged for and its IP allocator (ISTIO_VERSION, ISTIOD_IP_AUTOALLOCATE). */
  istio: IstioTarget;
}

/**
 * How much of the world a ClusterView knows. 'object': only the object at hand; 'input': the files given to
 * `egress-guard check`; 'cluster': every ServiceEntry and DestinationRule in the cluster. Rules that report the
 * absence of something (no DestinationRule originates TLS) stay silent in 'object' scope.
 */
export type ClusterScope = 'object' | 'input' | 'cluster';

/**
 * What the rules may know about the rest of the cluster. The object-at-hand view (no cluster) answers
 * with the object alone; the HostIndex (src/cluster/host-index.ts) answers for files or a live cluster
 * without changing rule code.
 */
export interface ClusterView {
  /**
   * Every ServiceEntry visible from `namespace` (exportTo respected) that declares `host` exactly (a wildcard
   * host matches only the same wildcard), the object under review included in place of its stored version.
   */
  serviceEntriesForHost(host: string, namespace: string): readonly ServiceEntryView[];
  /**
   * Every DestinationRule whose host covers `host` (the same name, or a wildcard like `*.example.com`, which
   * Istio applies to the hosts it covers) and that is visible from `namespace` by exportTo. Without a namespace:
   * every such rule, whatever its exportTo. Always empty in 'object' scope.
   */
  destinationRulesForHost(host: string, namespace?: string): readonly DestinationRuleView[];
  /** Whether the view may be out of date (API server unreachable); findings then say so. */
  readonly stale: boolean;
  readonly scope: ClusterScope;
}

/** How the ServiceEntry webhook gets the view for the entry under review: the object alone, or the cluster index. */
export type ClusterViewFor = (entry: ServiceEntryView) => ClusterView;

export interface RuleContext {
  settings: RuleSettings;
  cluster: ClusterView;
}

export type ServiceEntryRule = (entry: ServiceEntryView, context: RuleContext) => Finding[];
