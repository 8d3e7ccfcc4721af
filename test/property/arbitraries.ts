// fast-check generators for AdmissionReviews: realistic pods and ServiceEntries with arbitrary contents, and
// damaged reviews built from them. Everything stays small so thousands of runs fit in seconds.
import fc from 'fast-check';
import { Document, isScalar, visit } from 'yaml';
import { replicaSetPod, review, serviceEntryReview } from '../fixtures/reviews.js';

export const PROXY_CONFIG = 'proxy.istio.io/config';
export const OUR_KEYS = ['ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE'] as const;

const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const smallJson = fc.jsonValue({ maxDepth: 2, depthSize: 'xsmall' });

// ---------------------------------------------------------------------------------------------------------------
// proxy.istio.io/config texts

const metadataKey = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      ...OUR_KEYS,
      'ISTIO_META_OTHER',
      'ISTIO_META_DNS_CAPTURE ',
      'istio_meta_dns_capture',
      'GOMAXPROCS',
      '__proto__',
      'constructor',
    ),
  },
  text,
);
// proxyMetadata is map<string,string>: mostly strings, sometimes what people write by mistake.
const metadataValue = fc.oneof(
  { weight: 12, arbitrary: fc.oneof(fc.constantFrom('true', 'false', 'TRUE', 'yes', '1', ''), text) },
  fc.boolean(),
  fc.integer(),
  fc.constant(null),
);
const otherField = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(
        'holdApplicationUntilProxyStarts',
        'concurrency',
        'tracing',
        'drainDuration',
        'proxyStatsMatcher',
        'ProxyMetadata',
        'proxymetadata',
        '__proto__',
      ),
      text,
    ),
    fc.oneof(smallJson, fc.constant({ sampling: 12.5, custom_tags: { team: { literal: { value: 'payments' } } } })),
  )
  .filter(([key]) => key !== 'proxyMetadata');

export const proxyConfigObject = fc
  .record({
    others: fc.uniqueArray(otherField, { selector: ([key]) => key, maxLength: 4 }),
    metadata: fc.option(
      fc.uniqueArray(fc.tuple(metadataKey, metadataValue), { selector: ([key]) => key, maxLength: 5 }),
      { freq: 4 },
    ),
  })
  .map(({ others, metadata }) => {
    const config: Record<string, unknown> = {};
    for (const [key, value] of others)
      Object.defineProperty(config, key, { value, enumerable: true, writable: true, configurable: true });
    if (metadata !== null) {
      const map: Record<string, unknown> = {};
      for (const [key, value] of metadata)
        Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      config.proxyMetadata = map;
    }
    return config;
  });

export type ConfigFormat = 'json' | 'json-indented' | 'json-after-comment' | 'yaml';

const yamlStyle = fc.record({
  collectionStyle: fc.constantFrom('any', 'block', 'flow'),
  defaultStringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL'),
  defaultKeyType: fc.constantFrom(null, 'PLAIN', 'QUOTE_DOUBLE'),
  indent: fc.constantFrom(2, 4),
  // Which pairs and values get a comment: a bit per node, cycled.
  comments: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
  commentText: fc.constantFrom(' set by the platform team', ' TODO: remove # after 1.24', '', ' {"not": "json"}'),
  documentStart: fc.boolean(),
});

/** The annotation text for `config`, as JSON or as YAML with comments, and how to read it back. */
export const proxyConfigText = fc
  .record({
    config: proxyConfigObject,
    format: fc.constantFrom<ConfigFormat>('json', 'json-indented', 'json-after-comment', 'yaml', 'yaml'),
    style: yamlStyle,
  })
  .map(({ config, format, style }) => ({ config, format, indent: style.indent, text: render(config, format, style) }));

function render(
  config: Record<string, unknown>,
  format: ConfigFormat,
  style: typeof yamlStyle extends fc.Arbitrary<infer T> ? T : never,
): string {
  switch (format) {
    case 'json':
      return JSON.stringify(config);
    case 'json-indented':
      return JSON.stringify(config, null, 2);
    case 'json-after-comment':
      return `# ${style.commentText}\n${JSON.stringify(config, null, 2)}\n`;
    case 'yaml': {
      const doc = new Document(config);
      let bit = 0;
      const next = () => style.comments[bit++ % style.comments.length] === true;
      if (next()) doc.commentBefore = style.commentText;
      visit(doc, {
        Pair(_, pair) {
          if (isScalar(pair.key) && next()) pair.key.commentBefore = style.commentText;
        },
        Scalar(key, node) {
          if (key === 'value' && next()) node.comment = style.commentText;
        },
      });
      return doc.toString({
        collectionStyle: style.collectionStyle,
        defaultStringType: style.defaultStringType,
        defaultKeyType: style.defaultKeyType,
        indent: style.indent,
        lineWidth: 0,
        directives: style.documentStart,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pods

// The labels that make the webhook skip a pod come up now and then; most pods are mutated.
const labelKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('app', 'version', 'team', '__proto__') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('sidecar.istio.io/inject', 'egress-guard.io/dns-capture', 'istio.io/dataplane-mode'),
  },
  { weight: 3, arbitrary: text },
);
const labelValue = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom('true', 'false', 'disabled', 'Disabled', 'enabled', 'ambient', 'none', '', 'y'),
  },
  text,
);
const stringMap = (keys: fc.Arbitrary<string>, values: fc.Arbitrary<string>) =>
  fc.uniqueArray(fc.tuple(keys, values), { selector: ([key]) => key, maxLength: 4 }).map((entries) => {
    const map: Record<string, string> = {};
    for (const [key, value] of entries)
      Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
    return map;
  });

export interface GeneratedPod {
  pod: Record<string, unknown>;
  /** The proxy config the pod was given, when it was given one as text. */
  proxyConfig?: { config: Record<string, unknown>; format: ConfigFormat; indent: number; text: string };
}

export const pod: fc.Arbitrary<GeneratedPod> = fc
  .record({
    labels: fc.option(stringMap(labelKey, labelValue), { freq: 5 }),
    annotations: fc.constantFrom('absent', 'null', 'map', 'map', 'map', 'map', 'map', 'map'),
    otherAnnotations: stringMap(
      fc.oneof(
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            'sidecar.istio.io/inject',
            'kubectl.kubernetes.io/restartedAt',
            'proxy.istio.io/overrides',
          ),
        },
        { weight: 3, arbitrary: text },
      ),
      labelValue,
    ),
    proxyConfig: fc.option(proxyConfigText, { freq: 6, nil: undefined }),
    hostNetwork: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, fc.boolean()),
    extraTopLevel: fc.dictionary(fc.string({ maxLength: 6 }), smallJson, { maxKeys: 2 }),
    extraSpec: fc.dictionary(fc.string({ maxLength: 6 }), smallJson, { maxKeys: 2 }),
    name: fc.option(fc.constantFrom('web-0', 'batch-x'), { nil: undefined }),
  })
  .map((parts) => {
    const base = replicaSetPod({ annotations: null }) as Record<string, unknown> & {
      metadata: Record<string, unknown>;
      spec: Record<string, unknown>;
    };
    const metadata: Record<string, unknown> = { ...base.metadata };
    if (parts.labels !== null) metadata.labels = parts.labels;
    else delete metadata.labels;
    if (parts.name) metadata.name = parts.name;
    if (parts.annotations === 'null') metadata.annotations = null;
    if (parts.annotations === 'map') {
      const annotations = { ...parts.otherAnnotations };
      if (parts.proxyConfig) annotations[PROXY_CONFIG] = parts.proxyConfig.text;
      metadata.annotations = annotations;
    }
    const spec: Record<string, unknown> = { ...parts.extraSpec, ...base.spec };
    if (parts.hostNetwork !== undefined) spec.hostNetwork = parts.hostNetwork;
    const generated: Record<string, unknown> = {
      ...parts.extraTopLevel,
      apiVersion: 'v1',
      kind: 'Pod',
      metadata,
      spec,
    };
    return parts.annotations === 'map' && parts.proxyConfig
      ? { pod: generated, proxyConfig: parts.proxyConfig }
      : { pod: generated };
  });

// ---------------------------------------------------------------------------------------------------------------
// ServiceEntries

const hostname = fc.oneof(
  { weight: 3, arbitrary: fc.domain() },
  fc.domain().map((domain) => `*.${domain}`),
  fc.constantFrom(
    '*',
    '*.',
    '.',
    '',
    'localhost',
    'svc.cluster.local',
    'a..b',
    '*.*.example.com',
    'EXAMPLE.com',
    '10.0.0.1',
    '::1',
    'example.com.',
  ),
  text,
);
const port = fc.record(
  {
    number: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(80, 443, 8080, 9443, 3306) },
      fc.integer({ min: -1, max: 70_000 }),
      fc.constantFrom('443', ' 80 ', 'http'),
    ),
    name: fc.oneof(fc.constantFrom('http', 'https', 'tcp', 'tls', 'grpc'), text),
    protocol: fc.oneof(fc.constantFrom('HTTP', 'HTTPS', 'TLS', 'TCP', 'GRPC', 'HTTP2', 'MONGO', 'http', 'tls'), text),
    targetPort: fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(443, 80)),
  },
  { requiredKeys: ['number'] },
);

export const serviceEntry = fc
  .record(
    {
      hosts: fc.oneof({ weight: 5, arbitrary: fc.array(hostname, { maxLength: 4 }) }, hostname, smallJson),
      ports: fc.oneof({ weight: 5, arbitrary: fc.array(port, { maxLength: 4 }) }, smallJson),
      resolution: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'dns', 'DYNAMIC_DNS') },
        smallJson,
      ),
      location: fc.constantFrom('MESH_EXTERNAL', 'MESH_INTERNAL', 'elsewhere'),
      addresses: fc.array(fc.oneof(fc.ipV4(), fc.constantFrom('240.240.0.1/32', 'not-an-ip')), { maxLength: 2 }),
      exportTo: fc.array(fc.constantFrom('.', '*', 'shop', '~'), { maxLength: 2 }),
      endpoints: fc.array(fc.record({ address: fc.oneof(fc.ipV4(), fc.domain()) }), { maxLength: 2 }),
      expectedPorts: fc.oneof(fc.constantFrom('80,443', '9444', '', 'x', '0', '80,,443'), text),
    },
    { requiredKeys: ['hosts', 'resolution'] },
  )
  .chain((spec) =>
    fc
      .record({
        name: fc.oneof(fc.constantFrom('oss', 'external-api'), text),
        namespace: fc.oneof(fc.constantFrom('external', 'shop'), text),
        withExpectedPorts: fc.boolean(),
      })
      .map(({ name, namespace, withExpectedPorts }) => {
        const { expectedPorts, ...rest } = spec;
        return {
          apiVersion: 'networking.istio.io/v1',
          kind: 'ServiceEntry',
          metadata: {
            name,
            namespace,
            ...(withExpectedPorts ? { annotations: { 'egress-guard.io/expected-ports': expectedPorts } } : {}),
          },
          spec: rest,
        };
      }),
  );

export const serviceEntryKind = fc.record({
  group: fc.constant('networking.istio.io'),
  version: fc.constantFrom('v1', 'v1beta1', 'v1alpha3'),
  kind: fc.constant('ServiceEntry'),
});

export const operation = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('CREATE', 'UPDATE') },
  fc.constantFrom('DELETE', 'CONNECT', 'create', ''),
);

// ---------------------------------------------------------------------------------------------------------------
// Damaged reviews

/** Where a review goes and the review itself, well-formed to start with. */
export const anyReview = fc.oneof(
  pod.map(({ pod: object }) => ({ url: '/mutate/pods', body: review(object) as unknown })),
  fc.tuple(serviceEntry, serviceEntryKind, operation).map(([object, kind, op]) => ({
    url: '/validate/serviceentries',
    body: serviceEntryReview(object, { kind, operation: op }) as unknown,
  })),
);

export type Edit =
  | { kind: 'remove'; pick: number }
  | { kind: 'replace'; pick: number; value: unknown }
  | {
      kind: 'envelope';
      field: 'uid' | 'kind' | 'apiVersion' | 'operation' | 'request' | 'object' | 'requestKind';
      value: unknown;
    };

const wrongType = fc.oneof(
  smallJson,
  fc.constantFrom(null, 0, '', [], {}, true, 'AdmissionReview', 'CREATE', '00000000-0000-0000-0000-000000000000'),
);
export const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: wrongType }),
  fc.record({
    kind: fc.constant('envelope' as const),
    field: fc.constantFrom('uid', 'kind', 'apiVersion', 'operation', 'request', 'object', 'requestKind'),
    value: wrongType,
  }),
);

/** What finally goes on the wire: the edited review as JSON, cut short, with bytes changed, or bytes alone. */
export type Wire =
  | { kind: 'json' }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array }
  | { kind: 'bytes'; bytes: Uint8Array };

export const wire: fc.Arbitrary<Wire> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'json' as const }) },
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);

/** Applies the edits to a copy of `body`; paths are chosen by `pick` among all paths the document has then. */
export function applyEdits(body: unknown, edits: readonly Edit[]): unknown {
  let document = structuredClone(body);
  for (const change of edits) {
    if (change.kind === 'envelope') {
      document = setEnvelope(document, change.field, change.value);
      continue;
    }
    const paths = allPaths(document);
    if (paths.length === 0) continue;
    const path = paths[change.pick % paths.length]!;
    document =
      change.kind === 'remove' ? removeAt(document, path) : replaceAt(document, path, structuredClone(change.value));
  }
  return document;
}

export function toWire(document: unknown, how: Wire): Buffer {
  const json = Buffer.from(JSON.stringify(document) ?? 'null');
  switch (how.kind) {
    case 'json':
      return json;
    case 'truncate':
      return json.subarray(0, how.at % Math.max(json.length, 1));
    case 'splice': {
      const at = how.at % (json.length + 1);
      return Buffer.concat([json.subarray(0, at), Buffer.from(how.bytes), json.subarray(at)]);
    }
    case 'bytes':
      return Buffer.from(how.bytes);
  }
}

type Path = Array<string | number>;

function allPaths(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const keys: Array<string | number> = Array.isArray(value) ? value.map((_, index) => index) : Object.keys(value);
  return keys.flatMap((key) => [
    [...prefix, key],
    ...allPaths((value as Record<string | number, unknown>)[key], [...prefix, key]),
  ]);
}

function parentOf(document: unknown, path: Path): Record<string | number, unknown> | unknown[] | undefined {
  let node = document;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  return typeof node === 'object' && node !== null ? (node as Record<string | number, unknown>) : undefined;
}

function removeAt(document: unknown, path: Path): unknown {
  const parent = parentOf(document, path);
  const key = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else if (parent) delete parent[key];
  return document;
}

function replaceAt(document: unknown, path: Path, value: unknown): unknown {
  const parent = parentOf(document, path);
  if (parent)
    Object.defineProperty(parent, path[path.length - 1]!, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return document;
}

function setEnvelope(document: unknown, field: string, value: unknown): unknown {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return document;
  const top = document as Record<string, unknown>;
  if (field === 'kind' || field === 'apiVersion' || field === 'request') {
    top[field] = structuredClone(value);
    return document;
  }
  const request = top.request;
  if (typeof request === 'object' && request !== null && !Array.isArray(request)) {
    (request as Record<string, unknown>)[field === 'requestKind' ? 'kind' : field] = structuredClone(value);
  }
  return document;
}
