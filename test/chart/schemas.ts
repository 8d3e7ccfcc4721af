// JSON schemas for kubeconform, generated from a real kube-apiserver's own OpenAPI v3 documents (nothing can be
// fetched from the schema registries here). CRDs applied to that API server (the Prometheus Operator's,
// cert-manager's) are published by it the same way, so their kinds come out of the same code path.
//
// Strict like kubeconform's "-standalone-strict" schemas: an object schema that lists its properties and does not
// preserve unknown fields gets additionalProperties: false, so a misspelled or misplaced field fails.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../e2e/cluster.js';

type Schema = Record<string, unknown>;
interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}
interface OpenApiDocument {
  components?: { schemas?: Record<string, Schema> };
}

/** kubeconform -schema-location for the files written by writeSchemas (its Group is apiVersion's first part). */
export function schemaLocation(dir: string): string {
  return join(dir, '{{ .ResourceKind }}_{{ .Group }}_{{ .ResourceAPIVersion }}.json');
}

async function getRaw(cluster: Cluster, path: string): Promise<unknown> {
  const result = await cluster.kubectl(['get', '--raw', path], { timeoutMs: 120_000 });
  return JSON.parse(result.stdout);
}

/** Writes one self-contained schema per kind the API server serves; returns "group/version/Kind" of each. */
export async function writeSchemas(cluster: Cluster, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const index = (await getRaw(cluster, '/openapi/v3')) as { paths: Record<string, { serverRelativeURL: string }> };
  const written: string[] = [];
  for (const [path, { serverRelativeURL }] of Object.entries(index.paths)) {
    if (!/^(api\/v1|apis\/[^/]+\/[^/]+)$/.test(path)) continue;
    const document = (await getRaw(cluster, serverRelativeURL)) as OpenApiDocument;
    const schemas = document.components?.schemas ?? {};
    for (const [name, schema] of Object.entries(schemas)) {
      const gvks = (schema['x-kubernetes-group-version-kind'] ?? []) as GroupVersionKind[];
      // A kind is published under its own group/version path; other documents only reference it.
      const own = gvks.filter(
        (gvk) => path === (gvk.group === '' ? `api/${gvk.version}` : `apis/${gvk.group}/${gvk.version}`),
      );
      for (const gvk of own) {
        if (gvk.kind.endsWith('List') || gvk.kind === 'Status' || gvk.kind === 'WatchEvent') continue;
        const file = `${gvk.kind.toLowerCase()}_${gvk.group === '' ? gvk.version : gvk.group}_${gvk.version}.json`;
        writeFileSync(join(dir, file), JSON.stringify(standalone(name, schemas)));
        written.push(`${gvk.group}/${gvk.version}/${gvk.kind}`);
      }
    }
  }
  return written;
}

/** The kind's schema with every schema it references (and only those), strict. */
function standalone(root: string, all: Record<string, Schema>): Schema {
  const reachable: Record<string, Schema> = {};
  const visit = (name: string): void => {
    if (name in reachable) return;
    const schema = all[name];
    if (schema === undefined) throw new Error(`OpenAPI schema ${name} is referenced but not published`);
    reachable[name] = strict(schema);
    for (const ref of references(schema)) visit(ref);
  };
  visit(root);
  return { $ref: `#/components/schemas/${root}`, components: { schemas: reachable } };
}

function references(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) references(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') found.push(child.replace('#/components/schemas/', ''));
      else references(child, found);
    }
  }
  return found;
}

function strict(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, child] of Object.entries(schema)) {
    if (key === 'properties' && child !== null && typeof child === 'object') {
      // Keyed by field name: each value is a schema, the keys are data (a field may be called "properties").
      out[key] = Object.fromEntries(
        Object.entries(child as Record<string, Schema>).map(([field, s]) => [field, strict(s)]),
      );
    } else if (Array.isArray(child)) {
      out[key] = child.map((item: unknown) =>
        item !== null && typeof item === 'object' ? strict(item as Schema) : item,
      );
    } else if (
      child !== null &&
      typeof child === 'object' &&
      key !== 'default' &&
      key !== 'example' &&
      key !== 'enum'
    ) {
      out[key] = strict(child as Schema);
    } else {
      out[key] = child;
    }
  }
  if (
    'properties' in schema &&
    !('additionalProperties' in schema) &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true
  )
    out.additionalProperties = false;
  return out;
}
