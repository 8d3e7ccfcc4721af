// Pure YAML rendering for the plain certificate route (and the e2e suite): the webhook configurations of
// deploy/base/webhooks.yaml with a caBundle, a url instead of the in-cluster Service, or another Service, and
// the egress-guard-tls Secret. Comments and layout of the source manifests survive.
import { isMap, isSeq, parseAllDocuments, stringify, type Document } from 'yaml';

const WEBHOOK_KINDS = new Set(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);

/** Every webhooks[].clientConfig.caBundle set to base64(caPem), the PEM bundle the API server trusts for that webhook. */
export function withCaBundle(manifestsYaml: string, caPem: string): string {
  if (!/-----BEGIN CERTIFICATE-----/.test(caPem))
    throw new Error('caPem is not a PEM certificate ("BEGIN CERTIFICATE")');
  const caBundle = Buffer.from(caPem.endsWith('\n') ? caPem : `${caPem}\n`, 'utf8').toString('base64');
  return editWebhooks(manifestsYaml, (doc, clientConfig) => doc.setIn([...clientConfig, 'caBundle'], caBundle));
}

/**
 * clientConfig.service replaced by clientConfig.url = baseUrl + service.path, for an API server that reaches the
 * webhook server directly (e.g. `https://127.0.0.1:8443` in the e2e suite). caBundle, if set, is kept.
 */
export function withUrl(manifestsYaml: string, baseUrl: string): string {
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:') throw new Error(`webhook URLs must be https, got ${baseUrl}`);
  const root = baseUrl.replace(/\/+$/, '');
  return editWebhooks(manifestsYaml, (doc, clientConfig, name) => {
    const path = doc.getIn([...clientConfig, 'service', 'path']);
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new Error(
        `webhook ${name}: clientConfig.service.path is missing, so there is no path to append to ${baseUrl}`,
      );
    }
    doc.deleteIn([...clientConfig, 'service']);
    doc.setIn([...clientConfig, 'url'], root + path);
  });
}

/** clientConfig.service.namespace/name pointed at another Service (`npm run certs --namespace/--service`). */
export function withService(manifestsYaml: string, namespace: string, service: string): string {
  return editWebhooks(manifestsYaml, (doc, clientConfig) => {
    if (!doc.hasIn([...clientConfig, 'service'])) return;
    doc.setIn([...clientConfig, 'service', 'namespace'], namespace);
    doc.setIn([...clientConfig, 'service', 'name'], service);
  });
}

export interface TlsSecretInput {
  namespace: string;
  name: string;
  caCertPem: string;
  certPem: string;
  keyPem: string;
  /** Opaque for the Secret the server reads (the base ships it Opaque, and a Secret's type cannot change). */
  type?: 'kubernetes.io/tls' | 'Opaque';
}

/** A kubernetes.io/tls (or Opaque) Secret with tls.crt, tls.key and ca.crt, the shape cert-manager also writes. */
export function tlsSecretManifest(input: TlsSecretInput): string {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: input.name, namespace: input.namespace, labels: { 'app.kubernetes.io/name': 'egress-guard' } },
    type: input.type ?? 'kubernetes.io/tls',
    data: { 'tls.crt': b64(input.certPem), 'tls.key': b64(input.keyPem), 'ca.crt': b64(input.caCertPem) },
  });
}

type ClientConfigPath = ['webhooks', number, 'clientConfig'];

function editWebhooks(
  manifestsYaml: string,
  edit: (doc: Document, clientConfig: ClientConfigPath, webhookName: string) => void,
): string {
  const docs = parseAllDocuments(manifestsYaml);
  if (!Array.isArray(docs)) throw new Error('the manifests are not YAML documents');
  let webhooks = 0;
  for (const doc of docs) {
    const problem = doc.errors[0];
    if (problem) throw new Error(`the manifests are not valid YAML: ${problem.message}`);
    if (!WEBHOOK_KINDS.has(String(doc.get('kind')))) continue;
    const list = doc.get('webhooks');
    if (!isSeq(list)) continue;
    list.items.forEach((item, index) => {
      if (!isMap(item)) return;
      const path: ClientConfigPath = ['webhooks', index, 'clientConfig'];
      if (!isMap(doc.getIn(path))) throw new Error(`webhook ${String(item.get('name'))} has no clientConfig`);
      edit(doc, path, String(item.get('name')));
      webhooks += 1;
    });
  }
  if (webhooks === 0)
    throw new Error('no MutatingWebhookConfiguration or ValidatingWebhookConfiguration webhooks found');
  docs.forEach((doc, index) => {
    // Every document after the first needs its own `---` marker in the multi-document output.
    if (index > 0 && doc.directives) doc.directives.docStart = true;
  });
  return docs.map((doc) => doc.toString()).join('');
}
