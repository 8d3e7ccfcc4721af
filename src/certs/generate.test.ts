import { describe, expect, it } from '@jest/globals';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { createServer, request, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateCa, generateCertificates, issueServingCertificate, type GeneratedCertificates } from './generate.js';
import { serviceDnsNames } from './service-names.js';

const DAY_MS = 24 * 60 * 60 * 1000;

const request30Days = {
  commonName: 'egress-guard.egress-guard.svc',
  dnsNames: ['localhost', ...serviceDnsNames()],
  ipAddresses: ['127.0.0.1', '::1'],
  days: 30,
};

let shared: Promise<GeneratedCertificates> | undefined;
const certs = () => (shared ??= generateCertificates(request30Days));

describe('serviceDnsNames', () => {
  it('lists the short and qualified names of the Service', () => {
    expect(serviceDnsNames()).toEqual([
      'egress-guard',
      'egress-guard.egress-guard',
      'egress-guard.egress-guard.svc',
      'egress-guard.egress-guard.svc.cluster.local',
    ]);
    expect(serviceDnsNames('hook', 'ops')).toEqual(['hook', 'hook.ops', 'hook.ops.svc', 'hook.ops.svc.cluster.local']);
  });
});

describe('generateCertificates', () => {
  it('makes a CA that is a CA and signs the serving certificate', async () => {
    const { caCertPem, certPem } = await certs();
    const ca = new X509Certificate(caCertPem);
    const cert = new X509Certificate(certPem);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.issuer).toBe(ca.subject);
  });

  it('covers the Service names, localhost and the IP addresses', async () => {
    const cert = new X509Certificate((await certs()).certPem);
    for (const name of [
      'egress-guard.egress-guard.svc',
      'egress-guard.egress-guard.svc.cluster.local',
      'egress-guard',
      'localhost',
    ]) {
      expect(cert.checkHost(name)).toBe(name);
    }
    expect(cert.checkHost('egress-guard.other.svc')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkIP('10.0.0.1')).toBeUndefined();
  });

  it('is for TLS servers only', async () => {
    const cert = new X509Certificate((await certs()).certPem);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // extended key usage: serverAuth
    expect(cert.subject).toBe('CN=egress-guard.egress-guard.svc');
  });

  it('is valid from (nearly) now for the requested number of days', async () => {
    const started = Date.now();
    const { caCertPem, certPem } = await certs();
    for (const pem of [caCertPem, certPem]) {
      const cert = new X509Certificate(pem);
      const from = Date.parse(cert.validFrom);
      const to = Date.parse(cert.validTo);
      expect(from).toBeLessThanOrEqual(started);
      expect(started - from).toBeLessThan(10 * 60 * 1000);
      expect(Math.abs(to - from - 30 * DAY_MS)).toBeLessThan(10 * 60 * 1000);
    }
  });

  it('returns PKCS#8 EC P-256 keys that belong to the certificates', async () => {
    const { caCertPem, caKeyPem, certPem, keyPem } = await certs();
    for (const [key, cert] of [
      [keyPem, certPem],
      [caKeyPem, caCertPem],
    ] as const) {
      expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const privateKey = createPrivateKey(key);
      expect(privateKey.asymmetricKeyType).toBe('ec');
      expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(new X509Certificate(cert).checkPrivateKey(privateKey)).toBe(true);
      expect(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' })).toBe(
        new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'pem' }),
      );
    }
  });

  it('uses a fresh serial number and key each time', async () => {
    const a = await certs();
    const b = await generateCertificates(request30Days);
    expect(new X509Certificate(a.certPem).serialNumber).not.toBe(new X509Certificate(b.certPem).serialNumber);
    expect(a.keyPem).not.toBe(b.keyPem);
    expect(new X509Certificate(b.certPem).verify(new X509Certificate(a.caCertPem).publicKey)).toBe(false);
  });

  it('rejects requests it cannot turn into a sound certificate', async () => {
    await expect(generateCertificates({ ...request30Days, days: 0 })).rejects.toThrow(/days/);
    await expect(generateCertificates({ ...request30Days, days: 1.5 })).rejects.toThrow(/days/);
    await expect(generateCertificates({ ...request30Days, dnsNames: [], ipAddresses: [] })).rejects.toThrow(
      /at least one/,
    );
    await expect(generateCertificates({ ...request30Days, ipAddresses: ['localhost'] })).rejects.toThrow(
      /not an IPv4 or IPv6/,
    );
    await expect(generateCertificates({ ...request30Days, dnsNames: ['bad name'] })).rejects.toThrow(/not a DNS name/);
  });
});

describe('issueServingCertificate', () => {
  it('re-issues under an existing CA, so the caBundle can stay the same', async () => {
    const ca = await generateCa('reused CA', 365);
    const first = await issueServingCertificate(ca, request30Days);
    const second = await issueServingCertificate(ca, request30Days);
    const caCert = new X509Certificate(ca.certPem);
    expect(new X509Certificate(first.certPem).verify(caCert.publicKey)).toBe(true);
    expect(new X509Certificate(second.certPem).verify(caCert.publicKey)).toBe(true);
    expect(first.keyPem).not.toBe(second.keyPem);
  });

  it('refuses a certificate that would outlive its CA', async () => {
    const ca = await generateCa('short CA', 10);
    await expect(issueServingCertificate(ca, request30Days)).rejects.toThrow(/CA expires/);
  });
});

describe('a TLS handshake with the generated certificate', () => {
  const get = (port: number, options: RequestOptions) =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });

  it('succeeds with the CA and fails without it or for another name', async () => {
    const { caCertPem, certPem, keyPem } = await certs();
    const server = createServer({ cert: certPem, key: keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await expect(get(port, { ca: caCertPem, servername: 'localhost' })).resolves.toBe('ok');
      await expect(get(port, { ca: caCertPem, servername: 'egress-guard.egress-guard.svc' })).resolves.toBe('ok');
      // No servername: the client checks the address it connected to against the IP SANs.
      await expect(get(port, { ca: caCertPem })).resolves.toBe('ok');
      await expect(get(port, { servername: 'localhost' })).rejects.toMatchObject({
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      });
      await expect(get(port, { ca: caCertPem, servername: 'example.com' })).rejects.toMatchObject({
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });
      const otherCa = (await generateCertificates(request30Days)).caCertPem;
      await expect(get(port, { ca: otherCa, servername: 'localhost' })).rejects.toMatchObject({
        code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE/),
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
