// `egress-guard check`: the admission rules over manifest files, without a cluster. Every ServiceEntry and
// DestinationRule of all the inputs goes into one HostIndex, so cross-object rules see across files, and each
// ServiceEntry is judged exactly as admission would judge it (evaluateAll, scope 'input'). Pods and pod templates
// in opted-in namespaces get a preview of what the mutating webhook would add. Pure: objects in, report out.
import { evaluateAll } from '../cluster/evaluate.js';
import { HostIndex } from '../cluster/host-index.js';
import type { AutoAllocateMode } from '../config.js';
import { toDestinationRuleView } from '../istio/destination-rule.js';
import { toServiceEntryView } from '../istio/service-entry.js';
import { field, isJsonObject, text } from '../json.js';
import { planPodMutation, PROXY_CONFIG_ANNOTATION } from '../mutation/pod-mutation.js';
import type { RuleSettings } from '../rules/types.js';
import { describePlan, isMutatedNamespace, NEVER_MUTATED_NAMESPACES } from './dns-capture.js';
import {
  classify,
  formatFieldPath,
  groupOf,
  isNamespaced,
  parseFieldPath,
  type ManifestObject,
  type ObjectClass,
} from './objects.js';
import type { ObjectRef, Report, ReportFinding } from './report.js';

export interface CheckOptions {
  /** Namespace of namespaced objects that name none, as `kubectl apply -n`. */
  namespace: string;
  /** Namespaces treated as labelled egress-guard.io/dns-capture=enabled, besides labelled Namespaces in the input. */
  optedIn: readonly string[];
  settings: RuleSettings;
  mode: AutoAllocateMode;
}

export const DUPLICATE_OBJECT = 'duplicate-object';
export const DNS_CAPTURE_PREVIEW = 'dns-capture';

interface Identified {
  source: ManifestObject;
  class: ObjectClass;
  ref: ObjectRef;
  /** Input order, for output order. */
  order: number;
}

/** `file#2`, or `file#2 items[3]` for a List item: where an object without a usable name of its own comes from. */
function sourceLabel(source: ManifestObject): string {
  const item = source.itemPath.length > 0 ? ` ${formatFieldPath(source.itemPath)}` : '';
  return `${source.file}#${source.document}${item}`;
}

export function check(objects: readonly ManifestObject[], options: CheckOptions): Report {
  const findings: { order: number; finding: ReportFinding }[] = [];
  const identified = identify(objects, options.namespace, (order, finding) => findings.push({ order, finding }));

  const index = new HostIndex();
  const entries = new Map<string, Identified>();
  for (const item of identified) {
    const key = `${item.ref.namespace}/${item.ref.name}`;
    if (item.class.type === 'service-entry') {
      index.upsertServiceEntry({
        ...toServiceEntryView(item.source.object, item.ref.namespace),
        namespace: item.ref.namespace,
        name: item.ref.name,
      });
      entries.set(key, item);
    } else if (item.class.type === 'destination-rule') {
      index.upsertDestinationRule({
        ...toDestinationRuleView(item.source.object, item.ref.namespace),
        namespace: item.ref.namespace,
        name: item.ref.name,
      });
    }
  }

  const passed: ObjectRef[] = [];
  for (const { entry, findings: entryFindings } of evaluateAll(index, options.settings, 'input')) {
    const item = entries.get(`${entry.namespace}/${entry.name}`);
    if (!item) continue;
    if (entryFindings.length === 0) passed.push(item.ref);
    for (const finding of entryFindings) {
      const path = finding.path === undefined ? undefined : parseFieldPath(finding.path);
      findings.push({
        order: item.order,
        finding: {
          object: item.ref,
          location: { file: item.source.file, line: path ? item.source.lineAt(path) : item.source.line },
          rule: finding.rule,
          severity: finding.severity,
          message: finding.message,
          ...(finding.path === undefined ? {} : { path: finding.path }),
        },
      });
    }
  }

  const optedIn = optedInNamespaces(identified, options.optedIn);
  for (const item of identified) {
    if (item.class.type !== 'pod-template' || !optedIn.has(item.ref.namespace)) continue;
    const preview = previewMutation(item, item.class.template, item.class.templatePath, options.mode);
    if (preview) findings.push({ order: item.order, finding: preview });
  }

  // Array.prototype.sort is stable: within an object, findings stay in rule order.
  findings.sort((a, b) => a.order - b.order);
  return { objectsChecked: objects.length, findings: findings.map(({ finding }) => finding), passed };
}

/**
 * Namespaces and names for the objects the report can be about. An unnamed object is named after its source;
 * a second object with the same kind, namespace and name is renamed the same way (both are checked, as if both
 * existed) and reported, since applying both would keep only one.
 */
function identify(
  objects: readonly ManifestObject[],
  defaultNamespace: string,
  report: (order: number, finding: ReportFinding) => void,
): Identified[] {
  const seen = new Map<string, Identified>();
  const identified: Identified[] = [];
  objects.forEach((source, order) => {
    const objectClass = classify(source);
    const metadata = field(source.object, 'metadata');
    const namespace = isNamespaced(objectClass) ? text(field(metadata, 'namespace')) || defaultNamespace : '';
    const ownName = text(field(metadata, 'name'))?.trim() ?? '';
    const uid = text(field(metadata, 'uid'));
    const ref = (name: string): ObjectRef => ({
      apiVersion: source.apiVersion,
      kind: source.kind,
      namespace,
      name,
      ...(uid ? { uid } : {}),
    });
    if (objectClass.type === 'other') {
      identified.push({ source, class: objectClass, ref: ref(ownName), order });
      return;
    }
    if (ownName === '') {
      identified.push({ source, class: objectClass, ref: ref(`(unnamed ${sourceLabel(source)})`), order });
      return;
    }
    const key = `${groupOf(source.apiVersion)}|${source.kind}|${namespace}|${ownName}`;
    const first = seen.get(key);
    if (!first) {
      const item = { source, class: objectClass, ref: ref(ownName), order };
      seen.set(key, item);
      identified.push(item);
      return;
    }
    const item = { source, class: objectClass, ref: ref(`${ownName} (${sourceLabel(source)})`), order };
    identified.push(item);
    report(order, {
      object: item.ref,
      location: { file: source.file, line: source.line },
      rule: DUPLICATE_OBJECT,
      severity: 'warn',
      message:
        `${source.kind} ${namespace ? `${namespace}/` : ''}${ownName} is also defined at ${first.source.file}:${first.source.line}; ` +
        `applying both keeps only the last, both are checked here`,
    });
  });
  return identified;
}

function optedInNamespaces(identified: readonly Identified[], extra: readonly string[]): Set<string> {
  const names = new Set(extra.filter((name) => !NEVER_MUTATED_NAMESPACES.includes(name)));
  for (const item of identified) {
    if (item.class.type === 'namespace' && isMutatedNamespace(item.class.name, item.class.labels))
      names.add(item.class.name);
  }
  return names;
}

function previewMutation(
  item: Identified,
  template: unknown,
  templatePath: readonly string[],
  mode: AutoAllocateMode,
): ReportFinding | undefined {
  // A workload without a pod template is rejected by the API server long before a pod exists.
  if (!isJsonObject(template)) return undefined;
  const plan = planPodMutation(template, mode);
  const { message, notApplicable } = describePlan(plan, mode);
  const annotationPath = [...templatePath, 'metadata', 'annotations', PROXY_CONFIG_ANNOTATION];
  const path = plan.outcome === 'skipped' ? [...templatePath] : annotationPath;
  return {
    object: item.ref,
    location: { file: item.source.file, line: item.source.lineAt(path) },
    rule: DNS_CAPTURE_PREVIEW,
    severity: 'info',
    message,
    ...(path.length > 0 ? { path: formatFieldPath(path) } : {}),
    ...(notApplicable ? { notApplicable } : {}),
  };
}
