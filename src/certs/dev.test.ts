import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCertificates } from './dev.js';

describe('ensureDevCertificates', () => {
  let dir: string;
  let logged: { o: object; msg: string }[];
  const log = { info: (o: object, msg: string) => void logged.push({ o, msg }) };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'egress-guard-dev-certs-'));
    logged = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a CA and a serving certificate for local and in-cluster names, and says where the CA is', async () => {
    const certFile = join(dir, 'nested', 'tls.crt');
    const keyFile = join(dir, 'nested', 'tls.key');
    const result = await ensureDevCertificates(certFile, keyFile, log);

    expect(result).toEqual({ created: true, caFile: join(dir, 'nested', 'ca.crt') });
    const ca = new X509Certificate(readFileSync(result.caFile));
    const cert = new X509Certificate(readFileSync(certFile));
    expect(ca.ca).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('egress-guard.egress-guard.svc')).toBe('egress-guard.egress-guard.svc');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(logged).toHaveLength(1);
    expect(logged[0]?.msg).toContain(result.caFile);
    expect(logged[0]?.o).toMatchObject({ caFile: result.caFile, certFile, keyFile });
  });

  it('leaves existing files alone', async () => {
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    await ensureDevCertificates(certFile, keyFile, log);
    const before = [
      readFileSync(certFile, 'utf8'),
      readFileSync(keyFile, 'utf8'),
      readFileSync(join(dir, 'ca.crt'), 'utf8'),
    ];

    const again = await ensureDevCertificates(certFile, keyFile, log);

    expect(again).toEqual({ created: false, caFile: join(dir, 'ca.crt') });
    expect([
      readFileSync(certFile, 'utf8'),
      readFileSync(keyFile, 'utf8'),
      readFileSync(join(dir, 'ca.crt'), 'utf8'),
    ]).toEqual(before);
    expect(logged).toHaveLength(1);
  });

  it('replaces a pair that is half there', async () => {
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, 'stale');
    const result = await ensureDevCertificates(certFile, keyFile, log);
    expect(result.created).toBe(true);
    expect(() => new X509Certificate(readFileSync(certFile))).not.toThrow();
    // The new key belongs to the new certificate.
    expect(new X509Certificate(readFileSync(certFile)).checkPrivateKey(createPrivateKey(readFileSync(keyFile)))).toBe(
      true,
    );
  });
});
