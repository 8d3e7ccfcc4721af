// From documents to Kubernetes objects: Lists are expanded (`kind: List` and typed lists like ServiceEntryList,
// whose items may leave out apiVersion and kind), and each object is sorted into what `check` looks at:
// ServiceEntries and DestinationRules for the rules, Namespaces for their opt-in label, Pods and the pod
// templates of workloads for the mutation preview. Pure.
import { describeJsonType, field, isJsonObject, text, type JsonObject } from '../json.js';
import { ManifestError, type FieldPath, type ManifestDocument } from './load-manifests.js';

export interface ManifestObject {
  object: JsonObject;
  apiVersion: string;
  kind: string;
  file: string;
  /** 1-based document number in the file. */
  document: number;
  /** Where the object sits in its document: [] for a document, ['items', 3] for an item of a List. */
  itemPath: FieldPath;
  /** 1-based line where the object starts. */
  line: number;
  /** Line of a field of this object (or of its nearest ancestor present). */
  lineAt(path: FieldPath): number;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function isList(object: JsonObject, kind: string): boolean {
  return kind === 'List' || (kind.endsWith('List') && kind.length > 4 && Array.isArray(field(object, 'items')));
}

/** Every object of the documents, Lists expanded (nested ones too). Throws ManifestError for a non-object. */
export function manifestObjects(documents: readonly ManifestDocument[]): ManifestObject[] {
  return documents.flatMap((document) => expand(document, document.content, [], undefined));
}

function expand(
  document: ManifestDocument,
  value: unknown,
  itemPath: FieldPath,
  fromList: { apiVersion: string; kind: string } | undefined,
): ManifestObject[] {
  const line = document.lineAt(itemPath);
  const where = itemPath.length === 0 ? '' : ` (${formatFieldPath(itemPath)})`;
  if (!isJsonObject(value)) {
    throw new ManifestError(
      document.file,
      line,
      `expected a Kubernetes object (a mapping with apiVersion and kind)${where}, found ${describeJsonType(value)}`,
    );
  }
  // Items of a typed list, as the API returns them (GET /apis/networking.istio.io/v1/serviceentries), have no kind.
  const apiVersion = text(field(value, 'apiVersion')) || fromList?.apiVersion || '';
  const kind =
    text(field(value, 'kind')) || (fromList && fromList.kind !== 'List' ? fromList.kind.slice(0, -'List'.length) : '');
  const missing = [apiVersion ? '' : 'apiVersion', kind ? '' : 'kind'].filter(Boolean);
  if (missing.length > 0) throw new ManifestError(document.file, line, `${missing.join(' and ')} not set${where}`);

  if (isList(value, kind)) {
    const items = field(value, 'items');
    if (items === undefined || items === null) return [];
    if (!Array.isArray(items))
      throw new ManifestError(document.file, line, `${kind} items is ${describeJsonType(items)}, not a list${where}`);
    return items.flatMap((item, index) => expand(document, item, [...itemPath, 'items', index], { apiVersion, kind }));
  }
  return [
    {
      object: value,
      apiVersion,
      kind,
      file: document.file,
      document: document.index,
      itemPath,
      line,
      lineAt: (path) => document.lineAt([...itemPath, ...path]),
    },
  ];
}

const ISTIO_NETWORKING = 'networking.istio.io';

/** Kinds whose pods the mutating webhook changes, and where their pod template lives. */
const POD_TEMPLATES: ReadonlyMap<string, { groups: readonly string[]; path: readonly string[] }> = new Map([
  ['Pod', { groups: [''], path: [] }],
  ['Deployment', { groups: ['apps', 'extensions'], path: ['spec', 'template'] }],
  ['StatefulSet', { groups: ['apps'], path: ['spec', 'template'] }],
  ['DaemonSet', { groups: ['apps', 'extensions'], path: ['spec', 'template'] }],
  ['ReplicaSet', { groups: ['apps', 'extensions'], path: ['spec', 'template'] }],
  ['ReplicationController', { groups: [''], path: ['spec', 'template'] }],
  ['Job', { groups: ['batch'], path: ['spec', 'template'] }],
  ['CronJob', { groups: ['batch'], path: ['spec', 'jobTemplate', 'spec', 'template'] }],
]);

export type ObjectClass =
  | { type: 'service-entry' }
  | { type: 'destination-rule' }
  | { type: 'namespace'; name: string; labels: Readonly<Record<string, string>> }
  /** A Pod (templatePath []) or a workload's pod template; `template` is undefined when the field is missing. */
  | { type: 'pod-template'; template: unknown; templatePath: readonly string[] }
  | { type: 'other' };

export function classify({
  apiVersion,
  kind,
  object,
}: Pick<ManifestObject, 'apiVersion' | 'kind' | 'object'>): ObjectClass {
  const group = groupOf(apiVersion);
  if (group === ISTIO_NETWORKING && kind === 'ServiceEntry') return { type: 'service-entry' };
  if (group === ISTIO_NETWORKING && kind === 'DestinationRule') return { type: 'destination-rule' };
  if (group === '' && kind === 'Namespace') {
    const metadata = field(object, 'metadata');
    return {
      type: 'namespace',
      name: text(field(metadata, 'name')) ?? '',
      labels: stringMap(field(metadata, 'labels')),
    };
  }
  const workload = POD_TEMPLATES.get(kind);
  if (workload && workload.groups.includes(group)) {
    const template = workload.path.reduce<unknown>((value, key) => field(value, key), object);
    return { type: 'pod-template', template, templatePath: workload.path };
  }
  return { type: 'other' };
}

function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = Object.create(null);
  if (!isJsonObject(value)) return result;
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') result[key] = entry;
  return result;
}

/** Kinds the CLI reports on that live in a namespace; the rest it does not name a namespace for. */
export function isNamespaced(objectClass: ObjectClass): boolean {
  return (
    objectClass.type === 'service-entry' ||
    objectClass.type === 'destination-rule' ||
    objectClass.type === 'pod-template'
  );
}

/** ['spec', 'hosts', 1] -> `spec.hosts[1]`; keys that are not identifiers are quoted: `annotations["a/b"]`. */
export function formatFieldPath(path: FieldPath): string {
  let result = '';
  for (const segment of path) {
    if (typeof segment === 'number') result += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) result += result === '' ? segment : `.${segment}`;
    else result += `[${JSON.stringify(segment)}]`;
  }
  return result;
}

/** The inverse of formatFieldPath, for the paths rules put in findings; undefined for anything else. */
export function parseFieldPath(path: string): (string | number)[] | undefined {
  const segments: (string | number)[] = [];
  const pattern = /\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let offset = 0;
  while (offset < path.length) {
    pattern.lastIndex = offset;
    const match = pattern.exec(path);
    if (!match) return undefined;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[3] !== undefined) segments.push(JSON.parse(match[3]) as string);
    offset = pattern.lastIndex;
  }
  return segments;
}
