// The webhooks the server registers are the ones deploy/base/webhooks.yaml documents, and the manifests ship the
// configurations and the Secret without the fields the server owns (so kubectl apply and Helm never take them over).
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { caBundleOf, mutatingWebhooks, validatingWebhooks } from './webhook-configurations.js';

const base = (file: string) => fileURLToPath(new URL(`../../deploy/base/${file}`, import.meta.url));
type Doc = {
  kind: string;
  metadata: { name: string };
  webhooks?: { clientConfig: Record<string, unknown> }[];
  data?: unknown;
};
const docs = (file: string) => parseAllDocuments(readFileSync(base(file), 'utf8')).map((doc) => doc.toJS() as Doc);
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function withoutCaBundle<T extends { clientConfig: Record<string, unknown> }>(webhooks: T[]): T[] {
  return webhooks.map(
    ({ clientConfig: { caBundle: _, ...clientConfig }, ...webhook }) => ({ ...webhook, clientConfig }) as T,
  );
}

describe('the registered webhooks', () => {
  const reference = new Map(docs('webhooks.yaml').map((doc) => [doc.kind, doc.webhooks]));
  const target = { namespace: 'egress-guard', service: 'egress-guard' };

  it('equal deploy/base/webhooks.yaml, caBundle aside', () => {
    expect(withoutCaBundle(mutatingWebhooks(target, caBundleOf(CA)) as never)).toEqual(
      reference.get('MutatingWebhookConfiguration'),
    );
    expect(withoutCaBundle(validatingWebhooks(target, caBundleOf(CA)) as never)).toEqual(
      reference.get('ValidatingWebhookConfiguration'),
    );
  });

  it('carry the CA bundle base64-encoded, and a URL instead of the Service when a URL base is set', () => {
    const [webhook] = validatingWebhooks({ ...target, urlBase: 'https://127.0.0.1:9443' }, caBundleOf(CA));
    expect(webhook!.clientConfig).toEqual({
      url: 'https://127.0.0.1:9443/validate/serviceentries',
      caBundle: Buffer.from(CA).toString('base64'),
    });
  });

  it('never match the namespace the server runs in', () => {
    const [webhook] = mutatingWebhooks({ namespace: 'guard', service: 'egress-guard' }, caBundleOf(CA));
    expect(webhook!.namespaceSelector!.matchExpressions).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'guard'] },
    ]);
  });
});

describe('what the base ships for the server to fill', () => {
  it('both webhook configurations as shells without a webhooks field', () => {
    const shells = docs('webhook-configurations.yaml');
    expect(shells.map((doc) => [doc.kind, doc.metadata.name])).toEqual([
      ['MutatingWebhookConfiguration', 'egress-guard'],
      ['ValidatingWebhookConfiguration', 'egress-guard'],
    ]);
    for (const shell of shells) expect(Object.keys(shell).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
  });

  it('the certificate Secret without data', () => {
    const [secret] = docs('secret.yaml');
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: 'egress-guard-certs' }, type: 'Opaque' });
    expect(Object.keys(secret!).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'type']);
  });
});
