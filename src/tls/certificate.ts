// The admission listener's certificate: reading the files, checking a pair before it is served, and the
// secure-context options built from it. Messages name files and reasons, never file contents.
import { constants as cryptoConstants, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Config } from '../config.js';

/** The API server speaks TLS 1.2 and 1.3; nothing older is needed or accepted. */
export const MIN_TLS_VERSION = 'TLSv1.2';
/**
 * TLS 1.3's suites, then TLS 1.2's forward-secret AEAD ones (ECDHE with GCM or ChaCha20-Poly1305): every suite Go's
 * crypto/tls offers by default has one here, and no CBC suite is left. The TLS_ names must be listed: a list without
 * them switches TLS 1.3 off in Node.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  /** Client CA: when present, the API server must present a certificate signed by it. */
  clientCa?: string | Buffer;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

/** A pair that passed inspectCertificate, with what logs and metrics say about it. */
export interface ServingCertificate {
  material: TlsMaterial;
  subject: string;
  serialNumber: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
}

export class CertificateProblem extends Error {
  override name = 'CertificateProblem';
}

export function tlsFilesOf(config: Config): TlsFiles {
  return {
    certFile: config.tlsCertFile,
    keyFile: config.tlsKeyFile,
    ...(config.clientCaFile ? { clientCaFile: config.clientCaFile } : {}),
  };
}

/**
 * Reads all files. Every unreadable one is named, in setting order, in one CertificateProblem: an operator who
 * mounted the wrong volume learns all of it at once, and the message does not depend on which read failed first.
 */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  const read = (setting: string, path: string) =>
    readFile(path).then(
      (content): FileRead => ({ content }),
      (error: NodeJS.ErrnoException): FileRead => ({
        problem: `cannot read ${setting} ${path}: ${error.code ?? error.message}`,
      }),
    );
  const [cert, key, clientCa] = await Promise.all([
    read('TLS_CERT_FILE', files.certFile),
    read('TLS_KEY_FILE', files.keyFile),
    files.clientCaFile ? read('CLIENT_CA_FILE', files.clientCaFile) : undefined,
  ]);
  const problems = [cert, key, clientCa].flatMap((result) => (result?.problem === undefined ? [] : [result.problem]));
  if (problems.length > 0) throw new CertificateProblem(problems.join('; '));
  return { cert: cert.content!, key: key.content!, ...(clientCa?.content ? { clientCa: clientCa.content } : {}) };
}

/** One file of readTlsFiles: its content, or why it could not be read. */
interface FileRead {
  content?: Buffer;
  problem?: string;
}

/**
 * Everything Node would refuse, and a key that belongs to another certificate, as a CertificateProblem.
 * Whether the certificate is valid today is a separate question: see validityProblem.
 */
export function inspectCertificate(material: TlsMaterial): ServingCertificate {
  const leaf = parse(() => new X509Certificate(material.cert), 'the certificate is not a PEM X.509 certificate');
  const key: KeyObject = parse(() => createPrivateKey(material.key), 'the private key cannot be read');
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificateProblem(
      `the private key does not belong to the certificate (serial ${leaf.serialNumber}, ${leaf.subject.replaceAll('\n', ', ')})`,
    );
  }
  if (material.clientCa !== undefined) checkCaBundle(material.clientCa);
  // Last: whatever else OpenSSL objects to (an unusable chain in the certificate file, say).
  parse(() => createSecureContext(secureContextOptions(material)), 'Node refused the certificate and key');
  return {
    material,
    subject: leaf.subject.replaceAll('\n', ', '),
    serialNumber: leaf.serialNumber,
    fingerprint256: leaf.fingerprint256,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
  };
}

/** Why the certificate should not be served at `now`, or undefined when it is within its validity period. */
export function validityProblem(certificate: ServingCertificate, now = Date.now()): string | undefined {
  if (now < certificate.notBefore.getTime())
    return `the certificate is not valid before ${certificate.notBefore.toISOString()}`;
  if (now >= certificate.notAfter.getTime()) return `the certificate expired at ${certificate.notAfter.toISOString()}`;
  return undefined;
}

/**
 * For tls.createServer and server.setSecureContext alike. setSecureContext replaces every option, so the minimum
 * version has to be in here too, or a reload would quietly fall back to Node's default.
 */
export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.clientCa ? { ca: material.clientCa } : {}),
    minVersion: MIN_TLS_VERSION,
    ciphers: TLS_CIPHERS,
    // A TLS 1.2 client may not renegotiate: each renegotiation costs the server a handshake's CPU.
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
  };
}

export function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  const same = (x: string | Buffer | undefined, y: string | Buffer | undefined) =>
    x === undefined || y === undefined ? x === y : Buffer.from(x).equals(Buffer.from(y));
  return same(a.cert, b.cert) && same(a.key, b.key) && same(a.clientCa, b.clientCa);
}

/** Every PEM block of a CA bundle must be a certificate; an empty bundle would make every client fail. */
function checkCaBundle(bundle: string | Buffer): void {
  const blocks =
    Buffer.from(bundle)
      .toString('latin1')
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CertificateProblem('the client CA file holds no PEM certificate');
  blocks.forEach((block, index) =>
    parse(() => new X509Certificate(block), `certificate ${index + 1} of the client CA file cannot be read`),
  );
}

/** OpenSSL's messages ("DECODER routines::unsupported") describe the failure, never the input: safe to log. */
function parse<T>(make: () => T, problem: string): T {
  try {
    return make();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CertificateProblem(`${problem} (${reason.slice(0, 120)})`);
  }
}
