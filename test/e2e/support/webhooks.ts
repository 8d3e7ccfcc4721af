// The production webhook configurations (deploy/base/webhooks.yaml), pointed at a server on the loopback
// interface: clientConfig.service becomes clientConfig.url and caBundle is the certs script's CA. Rendered by
// the same functions `npm run certs` uses, so the suite tests the shipped manifests, not a hand-written copy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { withCaBundle, withUrl } from '../../../src/certs/manifests.js';
import type { Cluster } from '../cluster.js';
import { repoRoot } from './egress-guard.js';

export const MUTATING_WEBHOOK = 'dns-capture.egress-guard.io';
export const VALIDATING_WEBHOOK = 'serviceentries.egress-guard.io';
export const WEBHOOKS_FILE = join(repoRoot, 'deploy', 'base', 'webhooks.yaml');

/** deploy/base/webhooks.yaml with url = baseUrl + service.path and caBundle = caPem. */
export function renderWebhooks(baseUrl: string, caPem: string): string {
  return withCaBundle(withUrl(readFileSync(WEBHOOKS_FILE, 'utf8'), baseUrl), caPem);
}

/** Every webhooks[].clientConfig of a rendered manifest, by webhook name. */
export function clientConfigs(manifests: string): Map<string, { url?: string; service?: unknown; caBundle?: string }> {
  const configs = new Map<string, { url?: string; service?: unknown; caBundle?: string }>();
  const docs = parseAllDocuments(manifests);
  if (!Array.isArray(docs)) return configs;
  for (const doc of docs) {
    const object = doc.toJS() as {
      webhooks?: { name: string; clientConfig: { url?: string; service?: unknown; caBundle?: string } }[];
    } | null;
    for (const webhook of object?.webhooks ?? []) configs.set(webhook.name, webhook.clientConfig);
  }
  return configs;
}

/** A wildcard host with resolution DNS: what the validating webhook always denies. */
export function probeServiceEntry(namespace: string): string {
  return JSON.stringify({
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'webhook-probe', namespace },
    spec: {
      hosts: ['*.probe.example.com'],
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
    },
  });
}

function probePod(namespace: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'webhook-probe', namespace },
    spec: { containers: [{ name: 'probe', image: 'registry.example.com/probe:1' }] },
  });
}

/**
 * Polls until the API server calls both webhooks: it picks new configurations up asynchronously (about a second).
 * Validating: a dry-run create of a wildcard + DNS ServiceEntry is denied by our webhook. Mutating: a dry-run pod
 * in an opted-in namespace comes back with proxy.istio.io/config.
 */
export async function waitUntilEffective(
  cluster: Cluster,
  namespaces: { serviceEntries: string; optedInPods: string },
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let validating = false;
  let mutating = false;
  let last = '';
  while (!(validating && mutating)) {
    if (!validating) {
      const r = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], {
        stdin: probeServiceEntry(namespaces.serviceEntries),
        allowFail: true,
      });
      validating = r.code !== 0 && r.stderr.includes(`admission webhook "${VALIDATING_WEBHOOK}" denied the request`);
      last = r.stderr || r.stdout;
    }
    if (!mutating) {
      const r = await cluster.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], {
        stdin: probePod(namespaces.optedInPods),
        allowFail: true,
      });
      mutating = r.code === 0 && r.stdout.includes('proxy.istio.io/config');
      if (r.code !== 0) last = r.stderr;
    }
    if (validating && mutating) return;
    if (Date.now() > deadline) {
      throw new Error(
        `webhooks not effective after ${timeoutMs} ms (validating: ${validating}, mutating: ${mutating}); last kubectl output: ${last}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
