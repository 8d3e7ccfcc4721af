// startServer's own part of a clean stop and a bad start: drain() moves keep-alive clients off, and a certificate
// outside its validity period is still served (nothing better is at hand) but said loudly.
import { describe, expect, it } from '@jest/globals';
import { Agent } from 'node:https';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { issue, newCa } from '../support/certificates.js';
import { captureLog } from '../support/log-capture.js';
import { sendReview, succeeded } from '../support/review-load.js';

const HOUR_MS = 60 * 60 * 1000;
const config = () => loadConfig({ PORT: '0', OPS_PORT: '0', HOST: '127.0.0.1' });

describe('startServer', () => {
  it('keeps connections alive until drain(), then closes each after its next response', async () => {
    const ca = await newCa();
    const pair = await issue(ca);
    const server = await startServer(
      { config: config(), logger: captureLog().logger },
      { cert: pair.certPem, key: pair.keyPem },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await sendReview(server.admissionUrl, { ca: ca.certPem, agent });
      const second = await sendReview(server.admissionUrl, { ca: ca.certPem, agent });
      expect([succeeded(first), succeeded(second), second.reusedSocket]).toEqual([true, true, true]);

      server.drain();
      const last = await sendReview(server.admissionUrl, { ca: ca.certPem, agent });
      const after = await sendReview(server.admissionUrl, { ca: ca.certPem, agent });
      expect([succeeded(last), last.reusedSocket]).toEqual([true, true]);
      // The server said `Connection: close`, so the client opened a new connection instead of reusing a dead one.
      expect([succeeded(after), after.reusedSocket]).toEqual([true, false]);
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  it('serves an expired certificate it starts with, logs an error and reports a negative lifetime', async () => {
    const ca = await newCa();
    const expired = await issue(ca, {
      notBefore: new Date(Date.now() - 48 * HOUR_MS),
      notAfter: new Date(Date.now() - HOUR_MS),
    });
    const log = captureLog();
    const server = await startServer(
      { config: config(), logger: log.logger },
      { cert: expired.certPem, key: expired.keyPem },
    );
    try {
      expect(
        log.lines().find((line) => line.msg === 'serving a TLS certificate the API server will refuse'),
      ).toMatchObject({
        level: 50,
        problem: `the certificate expired at ${expired.notAfter.toISOString()}`,
        fingerprint256: expired.fingerprint256,
      });
      const expiry = (await server.metrics.tlsCertificateExpiry.get()).values[0]?.value ?? 0;
      expect(expiry).toBeLessThan(-3000);
      expect(expiry).toBeGreaterThan(-3 * 3600);
    } finally {
      await server.close();
    }
  });

  it('refuses to start with a key that belongs to another certificate', async () => {
    const ca = await newCa();
    const [pair, other] = await Promise.all([issue(ca), issue(ca)]);
    await expect(
      startServer({ config: config(), logger: captureLog().logger }, { cert: pair.certPem, key: other.keyPem }),
    ).rejects.toThrow(/private key does not belong to the certificate/);
  });
});
