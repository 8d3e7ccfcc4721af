// `egress-guard audit`: what is already in the cluster. Every ServiceEntry is judged by the admission rules
// against every other ServiceEntry and DestinationRule (evaluateAll, scope 'cluster'), and the pods of opted-in
// namespaces that the webhook would still patch (created while it was down, or before the namespace opted in)
// are grouped by the workload to restart. The listing is behind AuditSource, so this module does no I/O itself.
import { evaluateAll } from '../cluster/evaluate.js';
import { HostIndex } from '../cluster/host-index.js';
import { field, isJsonObject, text } from '../json.js';
import type { AutoAllocateMode } from '../config.js';
import { toDestinationRuleView } from '../istio/destination-rule.js';
import { toServiceEntryView } from '../istio/service-entry.js';
import { planPodMutation, type PodMutationPlan } from '../mutation/pod-mutation.js';
import { shortList } from '../rules/short-list.js';
import type { RuleSettings } from '../rules/types.js';
import { NEVER_MUTATED_NAMESPACES } from './dns-capture.js';
import type { ObjectRef, Report, ReportFinding } from './report.js';

export const MISSING_DNS_CAPTURE = 'missing-dns-capture';
export const UNEDITABLE_PROXY_CONFIG = 'uneditable-proxy-config';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

/** What the cluster holds, as plain API objects. */
export interface ClusterSnapshot {
  serviceEntries: readonly unknown[];
  destinationRules: readonly unknown[];
  /** Namespaces labelled egress-guard.io/dns-capture=enabled. */
  optedInNamespaces: readonly string[];
  /** The pods of those namespaces. */
  pods: readonly unknown[];
  /** ownerReferences of the ReplicaSets and Jobs owning pods to report, by ownerKey; absent when not found. */
  owners: ReadonlyMap<string, readonly OwnerReference[]>;
}

/** The listing `audit` needs; kube-source.ts implements it with @kubernetes/client-node. */
export interface AuditSource {
  listServiceEntries(): Promise<unknown[]>;
  listDestinationRules(): Promise<unknown[]>;
  listOptedInNamespaces(): Promise<string[]>;
  listPods(namespace: string): Promise<unknown[]>;
  /** The ownerReferences of a ReplicaSet or Job; undefined when it no longer exists. */
  ownerReferencesOf(kind: 'ReplicaSet' | 'Job', namespace: string, name: string): Promise<OwnerReference[] | undefined>;
}

export interface AuditOptions {
  settings: RuleSettings;
  mode: AutoAllocateMode;
}

export function ownerKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** Lists everything, then looks up only the owners of pods that will be reported. */
export async function collectSnapshot(source: AuditSource, mode: AutoAllocateMode): Promise<ClusterSnapshot> {
  const [serviceEntries, destinationRules, namespaces] = await Promise.all([
    source.listServiceEntries(),
    source.listDestinationRules(),
    source.listOptedInNamespaces(),
  ]);
  const optedInNamespaces = namespaces.filter((name) => !NEVER_MUTATED_NAMESPACES.includes(name)).sort();
  const pods: unknown[] = [];
  for (const namespace of optedInNamespaces) pods.push(...(await source.listPods(namespace)));

  const lookups = new Map<string, { kind: 'ReplicaSet' | 'Job'; namespace: string; name: string }>();
  for (const { pod } of podsToReport(pods, mode)) {
    const owner = controllerOf(pod);
    if (!owner || (owner.kind !== 'ReplicaSet' && owner.kind !== 'Job')) continue;
    const key = ownerKey(owner.kind, namespaceOf(pod), owner.name);
    if (!lookups.has(key)) lookups.set(key, { kind: owner.kind, namespace: namespaceOf(pod), name: owner.name });
  }
  // A namespace that just opted in can have a pod to report per Deployment: read their ReplicaSets a few at a time.
  const found = await mapConcurrently([...lookups.values()], OWNER_LOOKUPS_IN_FLIGHT, ({ kind, namespace, name }) =>
    source.ownerReferencesOf(kind, namespace, name),
  );
  const owners = new Map<string, readonly OwnerReference[]>();
  [...lookups.keys()].forEach((key, index) => {
    const references = found[index];
    if (references) owners.set(key, references);
  });
  return { serviceEntries, destinationRules, optedInNamespaces, pods, owners };
}

const OWNER_LOOKUPS_IN_FLIGHT = 8;

/** `map` with at most `limit` calls in flight, started in order; results in input order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function audit(snapshot: ClusterSnapshot, { settings, mode }: AuditOptions): Report {
  const index = new HostIndex();
  const refs = new Map<string, ObjectRef>();
  for (const object of snapshot.serviceEntries) {
    const view = toServiceEntryView(object);
    index.upsertServiceEntry(view);
    refs.set(`${view.namespace}/${view.name}`, objectRef(object, 'networking.istio.io/v1', 'ServiceEntry'));
  }
  for (const object of snapshot.destinationRules) index.upsertDestinationRule(toDestinationRuleView(object));

  const findings: ReportFinding[] = [];
  const passed: ObjectRef[] = [];
  for (const { entry, findings: entryFindings } of evaluateAll(index, settings, 'cluster')) {
    const ref = refs.get(`${entry.namespace}/${entry.name}`);
    if (!ref) continue;
    if (entryFindings.length === 0) passed.push(ref);
    for (const finding of entryFindings) {
      findings.push({
        object: ref,
        rule: finding.rule,
        severity: finding.severity,
        message: finding.message,
        ...(finding.path === undefined ? {} : { path: finding.path }),
      });
    }
  }

  findings.push(...podFindings(snapshot, mode));
  return {
    objectsChecked: snapshot.serviceEntries.length + snapshot.destinationRules.length + snapshot.pods.length,
    findings,
    passed,
  };
}

interface PodToReport {
  pod: unknown;
  plan: Extract<PodMutationPlan, { outcome: 'patched' | 'invalid-annotation' }>;
}

/**
 * Pods the webhook would still change (it patches at CREATE only, so they were created without it), and pods
 * whose annotation it cannot edit. Skipped and already-configured pods are fine; finished or terminating pods
 * no longer matter.
 */
export function podsToReport(pods: readonly unknown[], mode: AutoAllocateMode): PodToReport[] {
  const result: PodToReport[] = [];
  for (const pod of pods) {
    // A string in JSON, a Date from @kubernetes/client-node's typed models: either way, set means terminating.
    const deletion = field(field(pod, 'metadata'), 'deletionTimestamp');
    if (!isJsonObject(pod) || (deletion !== undefined && deletion !== null)) continue;
    const phase = text(field(field(pod, 'status'), 'phase'));
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const plan = planPodMutation(pod, mode);
    if (plan.outcome === 'patched' || plan.outcome === 'invalid-annotation') result.push({ pod, plan });
  }
  return result;
}

function namespaceOf(object: unknown): string {
  return text(field(field(object, 'metadata'), 'namespace')) ?? '';
}

function nameOf(object: unknown): string {
  return text(field(field(object, 'metadata'), 'name')) ?? '';
}

function ownerReferences(value: unknown): OwnerReference[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((reference): OwnerReference[] => {
    const kind = text(field(reference, 'kind'));
    const name = text(field(reference, 'name'));
    if (!kind || !name) return [];
    const uid = text(field(reference, 'uid'));
    return [
      {
        apiVersion: text(field(reference, 'apiVersion')) ?? '',
        kind,
        name,
        ...(uid ? { uid } : {}),
        ...(field(reference, 'controller') === true ? { controller: true } : {}),
      },
    ];
  });
}

/** The managing controller (controller: true), else the first owner; Kubernetes sets at most one controller. */
function controllerIn(references: readonly OwnerReference[]): OwnerReference | undefined {
  return references.find((reference) => reference.controller) ?? references[0];
}

function controllerOf(pod: unknown): OwnerReference | undefined {
  return controllerIn(ownerReferences(field(field(pod, 'metadata'), 'ownerReferences')));
}

/** ReplicaSet -> its Deployment, Job -> its CronJob; otherwise the direct owner, or the pod itself. */
export function workloadOf(pod: unknown, owners: ReadonlyMap<string, readonly OwnerReference[]>): ObjectRef {
  const namespace = namespaceOf(pod);
  const direct = controllerOf(pod);
  if (!direct) {
    const uid = text(field(field(pod, 'metadata'), 'uid'));
    return { apiVersion: 'v1', kind: 'Pod', namespace, name: nameOf(pod), ...(uid ? { uid } : {}) };
  }
  const parentKind = direct.kind === 'ReplicaSet' ? 'Deployment' : direct.kind === 'Job' ? 'CronJob' : undefined;
  const parent = parentKind && controllerIn(owners.get(ownerKey(direct.kind, namespace, direct.name)) ?? []);
  const owner = parent && parent.kind === parentKind ? parent : direct;
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    namespace,
    name: owner.name,
    ...(owner.uid ? { uid: owner.uid } : {}),
  };
}

/** What brings the pods back with the proxyMetadata: the webhook acts when a pod is created. */
export function restartHint(workload: ObjectRef, podNames: readonly string[]): string {
  const { kind, namespace, name } = workload;
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
      return `restart: kubectl rollout restart ${kind.toLowerCase()}/${name} -n ${namespace}`;
    case 'CronJob':
      return 'its next Jobs get it; running Jobs finish without it';
    case 'Job':
      return 're-create the Job to apply it';
    case 'Pod':
      return `re-create the pod: kubectl delete pod ${name} -n ${namespace}, then create it again`;
    default:
      return `delete the pods for the ${kind} to re-create them: kubectl delete pod -n ${namespace} ${shortList(podNames, 5, ' ')}`;
  }
}

function podFindings(snapshot: ClusterSnapshot, mode: AutoAllocateMode): ReportFinding[] {
  const groups = new Map<string, { workload: ObjectRef; rule: string; pods: string[]; warning?: string }>();
  for (const { pod, plan } of podsToReport(snapshot.pods, mode)) {
    const workload = workloadOf(pod, snapshot.owners);
    const rule = plan.outcome === 'patched' ? MISSING_DNS_CAPTURE : UNEDITABLE_PROXY_CONFIG;
    const key = `${rule}|${workload.namespace}|${workload.kind}|${workload.name}`;
    const group = groups.get(key) ?? {
      workload,
      rule,
      pods: [],
      ...(plan.outcome === 'invalid-annotation' ? { warning: plan.warnings.join('; ') } : {}),
    };
    group.pods.push(nameOf(pod));
    groups.set(key, group);
  }
  const ordered = [...groups.values()].sort(
    (a, b) =>
      compare(a.workload.namespace, b.workload.namespace) ||
      compare(a.workload.kind, b.workload.kind) ||
      compare(a.workload.name, b.workload.name) ||
      compare(a.rule, b.rule),
  );
  return ordered.map(({ workload, rule, pods, warning }): ReportFinding => {
    pods.sort(compare);
    const count = `${pods.length} ${pods.length === 1 ? 'pod' : 'pods'}`;
    const message =
      rule === MISSING_DNS_CAPTURE
        ? `${count} without DNS capture (${restartHint(workload, pods)})`
        : `${count} without DNS capture that a restart will not fix: ${warning}`;
    return { object: workload, rule, severity: 'warn', message };
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function objectRef(object: unknown, fallbackApiVersion: string, fallbackKind: string): ObjectRef {
  const uid = text(field(field(object, 'metadata'), 'uid'));
  return {
    apiVersion: text(field(object, 'apiVersion')) || fallbackApiVersion,
    kind: text(field(object, 'kind')) || fallbackKind,
    namespace: namespaceOf(object),
    name: nameOf(object),
    ...(uid ? { uid } : {}),
  };
}
