// Shared vocabulary of the policy rules. Rules are pure functions: no I/O, no globals, no clocks.
// The server (admission), `egress-guard check` and `egress-guard audit` all call the same rules.
import type { ServiceEntryView } from '../istio/service-entry.js';

export type Severity = 'deny' | 'warn';

export interface Finding {
  /** Stable rule id, used in logs, metrics labels, CLI output and PolicyReports. */
  rule: string;
  severity: Severity;
  /** Short, self-contained sentence; for warnings kubectl prints it on its own `Warning:` line (< 120 chars). */
  message: string;
  /** Field path inside the object, e.g. `spec.hosts[1]`. */
  path?: string;
  host?: string;
  /** undeclared-ports: expected ports no visible ServiceEntry declares for `host`, ascending. */
  missingPorts?: readonly number[];
  /** undeclared-ports: ports the visible ServiceEntries declare for `host`, ascending. */
  declaredPorts?: readonly number[];
}

export type UndeclaredPortsAction = 'warn' | 'deny';

export interface RuleSettings {
  /** Ports a workload is expected to reach on every auto-allocated host (EXPECTED_PORTS, default 80,443). */
  expectedPorts: readonly number[];
  /** Whether undeclared-port findings warn or deny (UNDECLARED_PORTS_ACTION). */
  undeclaredPortsAction: UndeclaredPortsAction;
}

/**
 * What the rules may know about the rest of the cluster. The object-at-hand view (no cluster) answers
 * with the object alone; the informer-backed index (issue 4) plugs in here without changing rule code.
 */
export interface ClusterView {
  /** Every ServiceEntry visible from `namespace` (exportTo respected) that declares `host`, the object under review included. */
  serviceEntriesForHost(host: string, namespace: string): readonly ServiceEntryView[];
  /** Whether the view may be out of date (API server unreachable); findings then say so. */
  readonly stale: boolean;
}

export interface RuleContext {
  settings: RuleSettings;
  cluster: ClusterView;
}

export type ServiceEntryRule = (entry: ServiceEntryView, context: RuleContext) => Finding[];
