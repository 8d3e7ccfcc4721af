// Certificate rotation the way it happens in a cluster: cert-manager renews the Secret, the kubelet swaps the
// volume's `..data` symlink, and the running server must serve the new pair to new connections without a
// restart and without failing a single review; a broken pair must be refused while the good one stays.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import tls from 'node:tls';
import type { CertificateAuthority } from '../../src/certs/generate.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { readTlsFiles, tlsFilesOf } from '../../src/tls/certificate.js';
import { issue, newCa, type IssuedCertificate } from '../support/certificates.js';
import { postJson } from '../support/https-client.js';
import { captureLog, type CapturedLog } from '../support/log-capture.js';
import { sendContinuously, sendReview, succeeded, type Outcome } from '../support/review-load.js';
import { SecretVolume } from '../support/secret-volume.js';
import { waitFor } from '../support/wait.js';
import { replicaSetPod, review } from '../fixtures/reviews.js';

const RENEWED = 'serving the changed TLS files';
const REFUSED = 'refused the changed TLS files; still serving the previous certificate';
const HOUR_MS = 60 * 60 * 1000;

describe('rotating the serving certificate through a kubelet-style Secret volume', () => {
  let caOne: CertificateAuthority;
  let caTwo: CertificateAuthority;
  let trusted: string[];
  let first: IssuedCertificate;
  let volume: SecretVolume;
  let server: RunningServer;
  let log: CapturedLog;
  /** Every key used in this file: none may ever appear in a log line. */
  const keys: string[] = [];

  const filesOf = (pair: IssuedCertificate) => ({ 'tls.crt': pair.certPem, 'tls.key': pair.keyPem });
  const linesWith = (message: string) => log.lines().filter((line) => line.msg === message);
  const servedFingerprint = async () => (await sendReview(server.admissionUrl, { ca: trusted })).fingerprint;
  const track = (pair: IssuedCertificate) => (keys.push(pair.keyPem), pair);

  // Node's default minimum is TLS 1.2 already; lowering it here shows the server sets its own, on every reload.
  const defaultMinVersion = tls.DEFAULT_MIN_VERSION;
  beforeAll(async () => {
    tls.DEFAULT_MIN_VERSION = 'TLSv1';
    [caOne, caTwo] = await Promise.all([newCa('CA one'), newCa('CA two')]);
    // A client that trusts both, as the API server does while a webhook configuration's caBundle holds old and new.
    trusted = [caOne.certPem, caTwo.certPem];
    first = track(await issue(caOne));
    volume = await SecretVolume.create(filesOf(first));
    log = captureLog();
    const config = loadConfig({
      PORT: '0',
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      TLS_CERT_FILE: volume.path('tls.crt'),
      TLS_KEY_FILE: volume.path('tls.key'),
    });
    const certificateFiles = tlsFilesOf(config);
    server = await startServer({ config, logger: log.logger, certificateFiles }, await readTlsFiles(certificateFiles));
  });
  afterAll(async () => {
    tls.DEFAULT_MIN_VERSION = defaultMinVersion;
    await server.close();
    await volume.remove();
  });

  /** Two clients on fresh connections, continuously, across a volume update; returns what they saw. */
  async function rotateUnderLoad(next: IssuedCertificate) {
    const renewalsBefore = linesWith(RENEWED).length;
    let stop = false;
    const outcomes: Outcome[] = [];
    const load = sendContinuously(server.admissionUrl, 2, { ca: trusted }, () => stop, outcomes);
    // Counts, not durations: the machine may be busy.
    await waitFor(() => outcomes.length >= 20, 'reviews before the rotation');
    const swapped = Date.now();
    await volume.update(filesOf(next));
    const renewed = await waitFor(() => linesWith(RENEWED)[renewalsBefore], 'the renewal log line');
    const appliedAt = renewed.time as number;
    await waitFor(
      () => outcomes.filter((outcome) => outcome.started > appliedAt).length >= 20,
      'reviews after the rotation',
      10_000,
    );
    stop = true;
    return { outcomes: await load, swapped, appliedAt, renewed };
  }

  it('serves a renewed leaf of the same CA to new connections, without one failed review', async () => {
    const renewed = track(await issue(caOne, { notAfter: new Date(Date.now() + 30 * HOUR_MS) }));
    const { outcomes, swapped, appliedAt, renewed: line } = await rotateUnderLoad(renewed);

    expect(outcomes.filter((outcome) => !succeeded(outcome))).toEqual([]);
    const before = outcomes.filter((outcome) => outcome.finished < swapped);
    const after = outcomes.filter((outcome) => outcome.started > appliedAt);
    expect(before.length).toBeGreaterThanOrEqual(10);
    expect(after.length).toBeGreaterThanOrEqual(20);
    expect(new Set(before.map((outcome) => outcome.fingerprint))).toEqual(new Set([first.fingerprint256]));
    expect(new Set(after.map((outcome) => outcome.fingerprint))).toEqual(new Set([renewed.fingerprint256]));
    expect(line).toMatchObject({
      level: 30,
      fingerprint256: renewed.fingerprint256,
      notAfter: renewed.notAfter.toISOString(),
    });
  });

  it('serves a leaf of a new CA the same way (clients trusting both CAs)', async () => {
    const fromNewCa = track(await issue(caTwo));
    const { outcomes, appliedAt } = await rotateUnderLoad(fromNewCa);
    expect(outcomes.filter((outcome) => !succeeded(outcome))).toEqual([]);
    const after = outcomes.filter((outcome) => outcome.started > appliedAt);
    expect(new Set(after.map((outcome) => outcome.fingerprint))).toEqual(new Set([fromNewCa.fingerprint256]));
  });

  it.each([
    [
      'a key that belongs to another certificate',
      async () => ({ 'tls.crt': track(await issue(caOne)).certPem, 'tls.key': track(await issue(caOne)).keyPem }),
      /private key does not belong to the certificate/,
    ],
    [
      'a certificate file of garbage',
      async () => ({ 'tls.crt': 'garbage\n', 'tls.key': track(await issue(caOne)).keyPem }),
      /certificate is not a PEM X\.509 certificate/,
    ],
    [
      'a key file of garbage',
      async () => ({
        'tls.crt': (await issue(caOne)).certPem,
        'tls.key': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      }),
      /private key cannot be read/,
    ],
    [
      'an expired certificate',
      async () =>
        filesOf(
          track(
            await issue(caOne, {
              notBefore: new Date(Date.now() - 48 * HOUR_MS),
              notAfter: new Date(Date.now() - HOUR_MS),
            }),
          ),
        ),
      /certificate expired at/,
    ],
  ])('refuses %s, keeps serving the previous certificate and logs why', async (_name, files, reason) => {
    const serving = await servedFingerprint();
    const refusalsBefore = linesWith(REFUSED).length;
    const rejectedBefore = await reloads('rejected');

    await volume.update(await files());
    const refusal = await waitFor(() => linesWith(REFUSED)[refusalsBefore], 'the refusal log line');

    expect(refusal).toMatchObject({
      level: 50,
      certFile: volume.path('tls.crt'),
      serving: { fingerprint256: serving },
    });
    expect(refusal.problem).toMatch(reason);
    expect(await reloads('rejected')).toBe(rejectedBefore + 1);
    const after = await sendReview(server.admissionUrl, { ca: trusted });
    expect(succeeded(after)).toBe(true);
    expect(after.fingerprint).toBe(serving);
  });

  it('never writes a private key into a log line', () => {
    const text = log.text();
    for (const key of keys) {
      const body = key.split('\n').filter((line) => line && !line.startsWith('-----'));
      for (const line of body) expect(text).not.toContain(line);
    }
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('keeps TLS 1.2 as the minimum after a reload (setSecureContext replaces every option)', async () => {
    expect(await reloads('success')).toBeGreaterThanOrEqual(2);
    const payload = review(replicaSetPod());
    await expect(
      postJson(`${server.admissionUrl}/mutate/pods`, payload, trusted.join(''), {
        maxVersion: 'TLSv1.1',
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    ).rejects.toThrow(/alert protocol version/);
    expect(
      (await postJson(`${server.admissionUrl}/mutate/pods`, payload, trusted.join(''), { maxVersion: 'TLSv1.2' }))
        .status,
    ).toBe(200);
  });

  it("exposes the served certificate's remaining lifetime and the reload counts on /metrics", async () => {
    // After the refusals, the last good pair (the new CA's default one-day leaf) is the one served.
    const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
    const expiry = Number(/^egress_guard_tls_certificate_expiry_seconds (\S+)$/m.exec(text)?.[1]);
    const notAfter = Date.parse(linesWith(RENEWED).at(-1)!.notAfter as string);
    expect(Math.abs(expiry - (notAfter - Date.now()) / 1000)).toBeLessThan(15);
    expect(text).toMatch(/^egress_guard_tls_reloads_total\{result="success"\} 2$/m);
    expect(text).toMatch(/^egress_guard_tls_reloads_total\{result="rejected"\} 4$/m);
  });

  async function reloads(result: string): Promise<number> {
    const metric = await server.metrics.tlsReloads.get();
    return metric.values.find((value) => value.labels.result === result)?.value ?? 0;
  }
});
