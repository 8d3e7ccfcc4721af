// CLIENT_CA_FILE: only a client holding a certificate signed by that CA (the API server, configured with an
// AdmissionConfiguration kubeconfig) completes the TLS handshake; everyone else is refused before HTTP.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CertificateAuthority } from '../../src/certs/generate.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { readTlsFiles, tlsFilesOf } from '../../src/tls/certificate.js';
import { issue, newCa, type IssuedCertificate } from '../support/certificates.js';
import { captureLog, type CapturedLog } from '../support/log-capture.js';
import { sendReview, succeeded, type Outcome } from '../support/review-load.js';
import { SecretVolume } from '../support/secret-volume.js';
import { waitFor } from '../support/wait.js';

describe('client certificates (CLIENT_CA_FILE)', () => {
  let serverCa: CertificateAuthority;
  let clientCa: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let apiServer: IssuedCertificate;
  let stranger: IssuedCertificate;
  let tlsVolume: SecretVolume;
  let caVolume: SecretVolume;
  let server: RunningServer;
  let log: CapturedLog;
  /** The CA the served CLIENT_CA_FILE holds. */
  let trustedClientCa: CertificateAuthority;

  const send = (client?: IssuedCertificate): Promise<Outcome> =>
    sendReview(server.admissionUrl, {
      ca: serverCa.certPem,
      ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    });
  // TLS 1.3 finishes the client's side of the handshake first: the refusal arrives as an alert or a reset.
  const refusedBeforeHttp = (outcome: Outcome) =>
    outcome.status === undefined && /^(ECONNRESET|ERR_SSL_\w+)$/.test(outcome.error ?? '');

  beforeAll(async () => {
    [serverCa, clientCa, otherCa] = await Promise.all([newCa('serving CA'), newCa('client CA'), newCa('other CA')]);
    const serving = await issue(serverCa);
    [apiServer, stranger] = await Promise.all([
      issue(clientCa, { usage: 'client' }),
      issue(otherCa, { usage: 'client' }),
    ]);
    tlsVolume = await SecretVolume.create({ 'tls.crt': serving.certPem, 'tls.key': serving.keyPem });
    // A separate volume, as a ConfigMap holding the CA would be: both directories are watched.
    caVolume = await SecretVolume.create({ 'ca.crt': clientCa.certPem });
    log = captureLog();
    const config = loadConfig({
      PORT: '0',
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      TLS_CERT_FILE: tlsVolume.path('tls.crt'),
      TLS_KEY_FILE: tlsVolume.path('tls.key'),
      CLIENT_CA_FILE: caVolume.path('ca.crt'),
    });
    const certificateFiles = tlsFilesOf(config);
    server = await startServer({ config, logger: log.logger, certificateFiles }, await readTlsFiles(certificateFiles));
  });
  afterAll(async () => {
    await server.close();
    await Promise.all([tlsVolume.remove(), caVolume.remove()]);
  });

  it('answers a client whose certificate the client CA signed', async () => {
    const outcome = await send(apiServer);
    expect(succeeded(outcome)).toBe(true);
  });

  it('refuses a client without a certificate at the TLS layer', async () => {
    const outcome = await send();
    expect(refusedBeforeHttp(outcome)).toBe(true);
  });

  it('refuses a client whose certificate another CA signed', async () => {
    expect(refusedBeforeHttp(await send(stranger))).toBe(true);
  });

  it('refuses a certificate of the client CA that is not meant for client authentication', async () => {
    expect(refusedBeforeHttp(await send(await issue(clientCa, { usage: 'server' })))).toBe(true);
  });

  it('trusts a rotated client CA file without a restart', async () => {
    const newClientCa = await newCa('client CA, renewed');
    const renewedApiServer = await issue(newClientCa, { usage: 'client' });
    expect(refusedBeforeHttp(await send(renewedApiServer))).toBe(true);

    await caVolume.update({ 'ca.crt': newClientCa.certPem });
    trustedClientCa = newClientCa;
    await waitFor(() => log.lines().some((line) => line.msg === 'serving the changed TLS files'), 'the reload');

    expect(succeeded(await send(renewedApiServer))).toBe(true);
    expect(refusedBeforeHttp(await send(apiServer))).toBe(true);
    // Still one TLS setting: the minimum version and the client-certificate requirement survive the reload.
    expect(refusedBeforeHttp(await send())).toBe(true);
  });

  it('keeps the client CA it has when a broken CA file arrives', async () => {
    const trustedClient = await issue(trustedClientCa, { usage: 'client' });
    await caVolume.update({ 'ca.crt': 'not a certificate\n' });
    const refusal = await waitFor(
      () =>
        log
          .lines()
          .find((line) => line.msg === 'refused the changed TLS files; still serving the previous certificate'),
      'the refusal',
    );
    expect(refusal).toMatchObject({
      problem: 'the client CA file holds no PEM certificate',
      clientCaFile: caVolume.path('ca.crt'),
    });
    expect(succeeded(await send(trustedClient))).toBe(true);
  });
});
