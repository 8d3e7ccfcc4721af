// Certificates for tests that generate.ts will not make: chosen validity dates, client-auth usage.
import { createPrivateKey, KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { generateCa, type CertificateAuthority } from '../../src/certs/generate.js';
import { webcrypto, x509 } from '../../src/certs/x509.js';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** As tls.TLSSocket#getPeerCertificate() reports it. */
  fingerprint256: string;
  notAfter: Date;
}

export interface IssueOptions {
  usage?: 'server' | 'client';
  commonName?: string;
  notBefore?: Date;
  notAfter?: Date;
}

export function newCa(name = 'test CA'): Promise<CertificateAuthority> {
  return generateCa(name, 3);
}

/** A leaf for localhost/127.0.0.1 signed by `ca`; by default valid from an hour ago for a day. */
export async function issue(ca: CertificateAuthority, options: IssueOptions = {}): Promise<IssuedCertificate> {
  const now = Math.floor(Date.now() / 1000) * 1000;
  // X.509 times have whole seconds.
  const seconds = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);
  const notBefore = seconds(options.notBefore ?? new Date(now - 60 * 60 * 1000));
  const notAfter = seconds(options.notAfter ?? new Date(now + DAY_MS));
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' }),
    ALGORITHM,
    false,
    ['sign'],
  );
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const usage = options.usage ?? 'server';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: [{ CN: [options.commonName ?? (usage === 'server' ? 'egress-guard' : 'kube-apiserver')] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        [usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      ...(usage === 'server'
        ? [
            new x509.SubjectAlternativeNameExtension([
              { type: 'dns', value: 'localhost' },
              { type: 'ip', value: '127.0.0.1' },
            ]),
          ]
        : []),
    ],
  });
  const certPem = `${cert.toString('pem').trim()}\n`;
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem, keyPem, fingerprint256: new X509Certificate(certPem).fingerprint256, notAfter };
}
