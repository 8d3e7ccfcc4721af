// The reloader on its own: the periodic re-check that backs up fs.watch, refusals logged once, a certificate
// that is not valid yet served once it is, and what counts as a servable pair.
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { SecureContextOptions } from 'node:tls';
import type { CertificateAuthority } from '../../src/certs/generate.js';
import { createMetrics } from '../../src/metrics.js';
import { CertificateReloader } from '../../src/tls/certificate-reloader.js';
import {
  CertificateProblem,
  inspectCertificate,
  readTlsFiles,
  validityProblem,
  type TlsFiles,
} from '../../src/tls/certificate.js';
import { issue, newCa, type IssuedCertificate } from '../support/certificates.js';
import { captureLog } from '../support/log-capture.js';
import { SecretVolume } from '../support/secret-volume.js';
import { sleep, waitFor } from '../support/wait.js';

const REFUSED = 'refused the changed TLS files; still serving the previous certificate';

describe('CertificateReloader', () => {
  let ca: CertificateAuthority;
  let first: IssuedCertificate;
  const cleanup: Array<() => unknown> = [];

  beforeAll(async () => {
    ca = await newCa();
    first = await issue(ca);
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });

  async function reloaderOn(
    options: { watch?: boolean; recheckMs?: number; apply?: (options: SecureContextOptions) => void } = {},
  ) {
    const volume = await SecretVolume.create({ 'tls.crt': first.certPem, 'tls.key': first.keyPem });
    const files: TlsFiles = { certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key') };
    const applied: SecureContextOptions[] = [];
    const log = captureLog();
    const metrics = createMetrics();
    const reloader = new CertificateReloader({
      files,
      current: inspectCertificate(await readTlsFiles(files)),
      apply: options.apply ?? ((context) => void applied.push(context)),
      logger: log.logger,
      metrics,
      ...(options.watch === undefined ? {} : { watch: options.watch }),
      ...(options.recheckMs === undefined ? {} : { recheckMs: options.recheckMs }),
    });
    reloader.start();
    cleanup.push(
      () => reloader.stop(),
      () => volume.remove(),
    );
    const refusals = () => log.lines().filter((line) => line.msg === REFUSED);
    return { volume, reloader, applied, log, metrics, refusals };
  }

  it('picks up a rotation by the periodic re-check alone (fs.watch can miss a symlink swap)', async () => {
    const { volume, reloader, applied } = await reloaderOn({ watch: false, recheckMs: 100 });
    const next = await issue(ca);
    await volume.update({ 'tls.crt': next.certPem, 'tls.key': next.keyPem });
    await waitFor(() => applied.length === 1, 'the re-check to apply the new pair');
    expect(String(applied[0]!.cert)).toBe(next.certPem);
    expect(applied[0]!.minVersion).toBe('TLSv1.2');
    expect(reloader.serving.fingerprint256).toBe(next.fingerprint256);
  });

  it('logs and counts the same refusal once, however often it is re-checked', async () => {
    const { volume, metrics, refusals, reloader } = await reloaderOn({ watch: false, recheckMs: 30 });
    await volume.update({ 'tls.crt': first.certPem, 'tls.key': (await issue(ca)).keyPem });
    await waitFor(() => refusals().length === 1, 'a refusal');
    await sleep(200);
    expect(refusals()).toHaveLength(1);
    expect((await metrics.tlsReloads.get()).values.find((value) => value.labels.result === 'rejected')?.value).toBe(1);
    expect(reloader.serving.fingerprint256).toBe(first.fingerprint256);
  });

  it('serves a certificate that was not valid yet once its notBefore has passed', async () => {
    const { volume, applied, refusals } = await reloaderOn({ watch: false, recheckMs: 100 });
    const notBefore = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000);
    const early = await issue(ca, { notBefore });
    await volume.update({ 'tls.crt': early.certPem, 'tls.key': early.keyPem });
    await waitFor(() => refusals().length === 1, 'the refusal');
    expect(refusals()[0]!.problem).toBe(`the certificate is not valid before ${notBefore.toISOString()}`);
    expect(applied).toHaveLength(0);
    await waitFor(() => applied.length === 1, 'the pair to be served once valid', 5000);
    expect(refusals()).toHaveLength(1);
  });

  it('refuses files that cannot be read, naming the setting and the path', async () => {
    const { volume, reloader, refusals } = await reloaderOn({ watch: false, recheckMs: 60_000 });
    await volume.remove();
    expect(await reloader.check()).toBe('rejected');
    expect(refusals()[0]!.problem).toBe(
      `cannot read TLS_CERT_FILE ${volume.path('tls.crt')}: ENOENT; cannot read TLS_KEY_FILE ${volume.path('tls.key')}: ENOENT`,
    );
  });

  it('refuses a pair Node would not serve (apply throws) and keeps the served one', async () => {
    const { volume, reloader, refusals } = await reloaderOn({
      watch: false,
      recheckMs: 60_000,
      apply: () => {
        throw new Error('setSecureContext failed');
      },
    });
    const next = await issue(ca);
    await volume.update({ 'tls.crt': next.certPem, 'tls.key': next.keyPem });
    expect(await reloader.check()).toBe('rejected');
    expect(refusals()[0]!.problem).toBe('setSecureContext failed');
    expect(reloader.serving.fingerprint256).toBe(first.fingerprint256);
    // Unchanged files afterwards mean nothing new to do.
    await volume.update({ 'tls.crt': first.certPem, 'tls.key': first.keyPem });
    expect(await reloader.check()).toBe('unchanged');
  });

  it("reacts to the kubelet's symlink swap through fs.watch, well before the re-check", async () => {
    const { volume, applied } = await reloaderOn({ recheckMs: 60_000 });
    const next = await issue(ca);
    await volume.update({ 'tls.crt': next.certPem, 'tls.key': next.keyPem });
    await waitFor(() => applied.length === 1, 'the watcher to apply the new pair', 3000);
  });
});

describe('inspectCertificate', () => {
  let ca: CertificateAuthority;
  let pair: IssuedCertificate;
  beforeAll(async () => {
    ca = await newCa();
    pair = await issue(ca);
  });

  it('accepts a pair, with a chain in the certificate file, and describes it', () => {
    const inspected = inspectCertificate({ cert: pair.certPem + ca.certPem, key: pair.keyPem });
    expect(inspected).toMatchObject({
      fingerprint256: pair.fingerprint256,
      notAfter: pair.notAfter,
      subject: 'CN=egress-guard',
    });
    expect(validityProblem(inspected)).toBeUndefined();
    expect(validityProblem(inspected, pair.notAfter.getTime())).toBe(
      `the certificate expired at ${pair.notAfter.toISOString()}`,
    );
  });

  it.each([
    [
      'an empty certificate file',
      () => ({ cert: '', key: pair.keyPem }),
      /certificate is not a PEM X\.509 certificate/,
    ],
    [
      'a key in the certificate file',
      () => ({ cert: pair.keyPem, key: pair.keyPem }),
      /certificate is not a PEM X\.509 certificate/,
    ],
    ['a certificate in the key file', () => ({ cert: pair.certPem, key: pair.certPem }), /private key cannot be read/],
    [
      "the CA's key",
      () => ({ cert: pair.certPem, key: ca.keyPem }),
      /does not belong to the certificate \(serial [0-9A-F]+, CN=egress-guard\)/,
    ],
    [
      'a client CA file without a certificate',
      () => ({ cert: pair.certPem, key: pair.keyPem, clientCa: 'nothing' }),
      /client CA file holds no PEM certificate/,
    ],
    [
      'a client CA file with a broken certificate',
      () => ({
        cert: pair.certPem,
        key: pair.keyPem,
        clientCa: `${ca.certPem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
      }),
      /certificate 2 of the client CA file cannot be read/,
    ],
  ])('refuses %s with a CertificateProblem', (_name, material, reason) => {
    expect(() => inspectCertificate(material())).toThrow(CertificateProblem);
    expect(() => inspectCertificate(material())).toThrow(reason);
  });
});
