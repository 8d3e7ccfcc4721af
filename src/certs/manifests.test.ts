import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { tlsSecretManifest, withCaBundle, withService, withUrl } from './manifests.js';

const WEBHOOKS_FILE = fileURLToPath(new URL('../../deploy/base/webhooks.yaml', import.meta.url));
const webhooksYaml = readFileSync(WEBHOOKS_FILE, 'utf8');

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

interface ClientConfig {
  caBundle?: string;
  url?: string;
  service?: { namespace: string; name: string; path: string; port: number };
}
interface WebhookConfiguration {
  kind: string;
  metadata: { name: string };
  webhooks: { name: string; clientConfig: ClientConfig }[];
}

const configurations = (text: string) => parseAllDocuments(text).map((doc) => doc.toJS() as WebhookConfiguration);
const clientConfigs = (text: string) =>
  Object.fromEntries(
    configurations(text).flatMap((config) => config.webhooks.map((hook) => [hook.name, hook.clientConfig])),
  );

describe('deploy/base/webhooks.yaml as shipped', () => {
  it('has both configurations, in-cluster Service references and no caBundle', () => {
    expect(configurations(webhooksYaml).map((c) => `${c.kind}/${c.metadata.name}`)).toEqual([
      'MutatingWebhookConfiguration/egress-guard',
      'ValidatingWebhookConfiguration/egress-guard',
    ]);
    expect(clientConfigs(webhooksYaml)).toEqual({
      'dns-capture.egress-guard.io': {
        service: { namespace: 'egress-guard', name: 'egress-guard', path: '/mutate/pods', port: 443 },
      },
      'serviceentries.egress-guard.io': {
        service: { namespace: 'egress-guard', name: 'egress-guard', path: '/validate/serviceentries', port: 443 },
      },
    });
  });
});

describe('withCaBundle', () => {
  it('sets every caBundle to the base64 PEM and changes nothing else', () => {
    const rendered = withCaBundle(webhooksYaml, CA_PEM);
    const b64 = Buffer.from(CA_PEM).toString('base64');
    for (const clientConfig of Object.values(clientConfigs(rendered))) {
      expect(clientConfig.caBundle).toBe(b64);
      expect(Buffer.from(clientConfig.caBundle ?? '', 'base64').toString()).toBe(CA_PEM);
    }
    const strip = (configs: WebhookConfiguration[]) => {
      for (const config of configs) for (const hook of config.webhooks) delete hook.clientConfig.caBundle;
      return configs;
    };
    expect(strip(configurations(rendered))).toEqual(configurations(webhooksYaml));
  });

  it('keeps the comments, including the ordering note', () => {
    const rendered = withCaBundle(webhooksYaml, CA_PEM);
    expect(rendered).toContain('# ORDERING:');
    expect(rendered.match(/^---$/gm)).toHaveLength(1);
  });

  it('replaces an existing caBundle and appends a missing final newline to the PEM', () => {
    const twice = withCaBundle(withCaBundle(webhooksYaml, CA_PEM), CA_PEM.trimEnd());
    expect(twice).toBe(withCaBundle(webhooksYaml, CA_PEM));
  });

  it('passes other documents through untouched', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: "1"\n---\n${webhooksYaml}`;
    const docs = configurations(withCaBundle(text, CA_PEM));
    expect(docs[0]).toEqual(parse('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: "1"\n'));
    expect(docs).toHaveLength(3);
  });

  it('rejects a non-PEM CA, YAML errors and manifests without webhooks', () => {
    expect(() => withCaBundle(webhooksYaml, 'not a pem')).toThrow(/PEM certificate/);
    expect(() => withCaBundle('a: [1', CA_PEM)).toThrow(/not valid YAML/);
    expect(() => withCaBundle('apiVersion: v1\nkind: ConfigMap\n', CA_PEM)).toThrow(/no .*webhooks found/);
  });
});

describe('withUrl', () => {
  it('replaces the Service reference by base URL + path', () => {
    const rendered = withUrl(webhooksYaml, 'https://127.0.0.1:9443');
    expect(clientConfigs(rendered)).toEqual({
      'dns-capture.egress-guard.io': { url: 'https://127.0.0.1:9443/mutate/pods' },
      'serviceentries.egress-guard.io': { url: 'https://127.0.0.1:9443/validate/serviceentries' },
    });
  });

  it('composes with withCaBundle in either order and tolerates a trailing slash', () => {
    const a = clientConfigs(withUrl(withCaBundle(webhooksYaml, CA_PEM), 'https://127.0.0.1:9443/'));
    const b = clientConfigs(withCaBundle(withUrl(webhooksYaml, 'https://127.0.0.1:9443'), CA_PEM));
    expect(a).toEqual(b);
    expect(a['dns-capture.egress-guard.io']).toEqual({
      url: 'https://127.0.0.1:9443/mutate/pods',
      caBundle: Buffer.from(CA_PEM).toString('base64'),
    });
  });

  it('insists on https and on a path to append', () => {
    expect(() => withUrl(webhooksYaml, 'http://127.0.0.1:9443')).toThrow(/https/);
    expect(() => withUrl(withUrl(webhooksYaml, 'https://127.0.0.1:1'), 'https://127.0.0.1:2')).toThrow(
      /service\.path is missing/,
    );
  });
});

describe('withService', () => {
  it('points every webhook at another Service, keeping path and port', () => {
    expect(clientConfigs(withService(webhooksYaml, 'ops', 'guard'))['serviceentries.egress-guard.io']).toEqual({
      service: { namespace: 'ops', name: 'guard', path: '/validate/serviceentries', port: 443 },
    });
  });
});

describe('tlsSecretManifest', () => {
  it('is a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt', () => {
    const secret = parse(
      tlsSecretManifest({
        namespace: 'egress-guard',
        name: 'egress-guard-tls',
        caCertPem: 'CA',
        certPem: 'CERT',
        keyPem: 'KEY',
      }),
    );
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'egress-guard-tls',
        namespace: 'egress-guard',
        labels: { 'app.kubernetes.io/name': 'egress-guard' },
      },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'Q0VSVA==', 'tls.key': 'S0VZ', 'ca.crt': 'Q0E=' },
    });
  });
});
