// A private CA and a serving certificate signed by it, made without openssl: Node's WebCrypto makes the
// ECDSA P-256 keys and signs, @peculiar/x509 builds the certificates.
import { createPrivateKey, KeyObject, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { webcrypto, x509 } from './x509.js';

export interface CertificateRequest {
  /** Subject CN of the serving certificate; clients match SANs, not the CN. */
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  /** Validity of both the CA and the serving certificate, counted from now. */
  days: number;
}

export interface GeneratedCertificates {
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

/** A CA loaded back from PEM, so the serving certificate can be re-issued under an unchanged caBundle. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** notBefore is set this far in the past so a node whose clock runs slightly behind still accepts a fresh certificate. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;
const CLAMP_TOLERANCE_MS = 60 * 60 * 1000;

export async function generateCertificates(opts: CertificateRequest): Promise<GeneratedCertificates> {
  checkRequest(opts);
  const ca = await generateCa(`${opts.commonName} CA`, opts.days);
  const serving = await issueServingCertificate(ca, opts);
  return { caCertPem: ca.certPem, caKeyPem: ca.keyPem, ...serving };
}

/** A self-signed CA: basicConstraints CA:true (critical, path length 0), keyCertSign + cRLSign. */
export async function generateCa(commonName: string, days: number, now = Date.now()): Promise<CertificateAuthority> {
  checkDays(days);
  const keys = await newKeyPair();
  const { notBefore, notAfter } = validity(days, now);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [commonName] }],
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: certificatePem(cert), keyPem: privateKeyPem(keys.privateKey) };
}

/**
 * A serving certificate signed by `ca`: SANs from the request, serverAuth, digitalSignature. keyEncipherment is
 * left out on purpose: it only applies to RSA key transport, and the key here is ECDSA (RFC 5480 section 3).
 */
export async function issueServingCertificate(
  ca: CertificateAuthority,
  opts: CertificateRequest,
  now = Date.now(),
): Promise<{ certPem: string; keyPem: string }> {
  checkRequest(opts);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', pkcs8Der(ca.keyPem), ALGORITHM, false, ['sign']);
  const keys = await newKeyPair();
  const { notBefore, notAfter: requested } = validity(opts.days, now);
  // A certificate must not outlive its CA. A CA made moments ago for the same number of days ends a few
  // milliseconds earlier (and X.509 times have whole seconds): that much is clamped, a real shortfall is an error.
  if (requested.getTime() - caCert.notAfter.getTime() > CLAMP_TOLERANCE_MS) {
    throw new Error(
      `the CA expires ${caCert.notAfter.toISOString()}, before the ${opts.days}-day certificate would; make a new CA`,
    );
  }
  const notAfter = requested > caCert.notAfter ? caCert.notAfter : requested;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [opts.commonName] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([
        ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...opts.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: certificatePem(cert), keyPem: privateKeyPem(keys.privateKey) };
}

function checkRequest(opts: CertificateRequest): void {
  checkDays(opts.days);
  if (opts.commonName.trim() === '') throw new Error('commonName must not be empty');
  if (opts.dnsNames.length + opts.ipAddresses.length === 0)
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  for (const name of opts.dnsNames) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(name)) {
      throw new Error(`"${name}" is not a DNS name`);
    }
  }
  for (const ip of opts.ipAddresses) {
    if (isIP(ip) === 0) throw new Error(`"${ip}" is not an IPv4 or IPv6 address`);
  }
}

function checkDays(days: number): void {
  if (!Number.isInteger(days) || days < 1) throw new Error(`days must be a positive whole number, got ${days}`);
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

function validity(days: number, at: number): { notBefore: Date; notAfter: Date } {
  const now = Math.floor(at / 1000) * 1000; // X.509 times have whole seconds
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** 16 random bytes with the top bit clear: a positive DER integer, as RFC 5280 requires. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return bytes.toString('hex');
}

function certificatePem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem').trim()}\n`;
}

/** PKCS#8 ("BEGIN PRIVATE KEY"), which Node's TLS, Go's crypto/tls and cert-manager all read. */
function privateKeyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Any PEM private key Node reads (PKCS#8 or SEC1 "EC PRIVATE KEY"), as PKCS#8 DER for WebCrypto. */
function pkcs8Der(pem: string): Buffer {
  return createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
}
