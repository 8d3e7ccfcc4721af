// The rotation planner on a clock it is given: when a CA and a serving certificate are made, when each is replaced,
// and that the caBundle (ca.crt) always trusts whatever is served, before and after every step.
import { describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { DAY_MS, generateCa, issueServingCertificate } from './generate.js';
import {
  CertificateSecretProblem,
  planCertificates,
  splitPem,
  type CertificateData,
  type RotationPolicy,
} from './rotation.js';

const HOUR = 60 * 60 * 1000;
const POLICY: RotationPolicy = {
  commonName: 'egress-guard.egress-guard.svc',
  dnsNames: ['egress-guard.egress-guard.svc'],
  ipAddresses: ['127.0.0.1'],
  certDays: 30,
  caDays: 90,
  overlapMs: HOUR,
};
const T0 = Date.parse('2026-01-01T00:00:00Z');

function certificate(pem: string | undefined): X509Certificate {
  return new X509Certificate(pem!);
}

/** ca.crt trusts tls.crt: one of its CAs signed it. */
function trustsServed(data: CertificateData): boolean {
  const served = certificate(data['tls.crt']);
  return splitPem(data['ca.crt']!).some((pem) => served.verify(new X509Certificate(pem).publicKey));
}

async function step(data: CertificateData, at: number): Promise<CertificateData> {
  const plan = await planCertificates(data, POLICY, at);
  return plan.data ?? data;
}

/** A Secret as it is after its serving certificate was renewed on days 20 and 40. */
async function renewedUntilDay40(): Promise<CertificateData> {
  let data = await step({}, T0);
  for (const day of [20, 40]) data = await step(data, T0 + day * DAY_MS);
  return data;
}

describe('planCertificates', () => {
  it('fills an empty Secret with a CA, its key and a serving certificate for the names', async () => {
    const plan = await planCertificates({}, POLICY, T0);
    const data = plan.data!;
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(splitPem(data['ca.crt']!)).toHaveLength(1);
    expect(trustsServed(data)).toBe(true);
    expect(certificate(data['tls.crt']).subjectAltName).toBe('DNS:egress-guard.egress-guard.svc, IP Address:127.0.0.1');
    expect(plan.reasons).toEqual(['the Secret holds no certificate yet: made a CA and a serving certificate']);
  });

  it('leaves a Secret that needs nothing unchanged', async () => {
    const data = await step({}, T0);
    expect(await planCertificates(data, POLICY, T0 + 5 * DAY_MS)).toEqual({ reasons: [], external: false });
  });

  it('renews the serving certificate with a third of its life left, under the same CA', async () => {
    const data = await step({}, T0);
    const at = T0 + 21 * DAY_MS;
    const plan = await planCertificates(data, POLICY, at);
    expect(plan.reasons).toEqual(['the serving certificate is due for renewal']);
    expect(plan.data!['ca.crt']).toBe(data['ca.crt']);
    expect(plan.data!['tls.crt']).not.toBe(data['tls.crt']);
    expect(Date.parse(certificate(plan.data!['tls.crt']).validTo)).toBeGreaterThan(at + 29 * DAY_MS);
  });

  it('renews a serving certificate that lacks a required name', async () => {
    const data = await step({}, T0);
    const plan = await planCertificates(data, { ...POLICY, dnsNames: [...POLICY.dnsNames, 'egress-guard'] }, T0 + HOUR);
    expect(plan.reasons).toEqual(['the serving certificate lacks a required name']);
    expect(certificate(plan.data!['tls.crt']).subjectAltName).toContain('DNS:egress-guard,');
  });

  it('rotates the CA with an overlap: trust first, serve after the overlap, drop the old CA an overlap later', async () => {
    let data = await renewedUntilDay40();
    const oldCa = splitPem(data['ca.crt']!)[0];
    // 61 days in: the CA has under a third left. The new CA is trusted beside the old; the served pair stays.
    const rotation = T0 + 61 * DAY_MS;
    const before = data;
    data = await step(data, rotation);
    expect(splitPem(data['ca.crt']!)).toHaveLength(2);
    expect(splitPem(data['ca.crt']!)[1]).toBe(oldCa);
    expect(data['tls.crt']).toBe(before['tls.crt']);
    expect(data['ca.key']).not.toBe(before['ca.key']);
    expect(trustsServed(data)).toBe(true);
    // Within the overlap nothing else changes.
    expect((await planCertificates(data, POLICY, rotation + HOUR / 2)).data).toBeUndefined();
    // After it: a certificate from the new CA is served, the old CA is still trusted (other replicas serve the old).
    data = await step(data, rotation + HOUR + 1000);
    const newCa = new X509Certificate(splitPem(data['ca.crt']!)[0]!);
    expect(certificate(data['tls.crt']).verify(newCa.publicKey)).toBe(true);
    expect(splitPem(data['ca.crt']!)).toEqual([splitPem(data['ca.crt']!)[0], oldCa]);
    // An overlap after that, the old CA goes.
    data = await step(data, rotation + 2 * HOUR + 2000);
    expect(splitPem(data['ca.crt']!)).toHaveLength(1);
    expect(trustsServed(data)).toBe(true);
  });

  it('keeps ca.crt trusting the served certificate at every hour through a CA rotation', async () => {
    let data = await renewedUntilDay40();
    for (let at = T0 + 60 * DAY_MS; at < T0 + 60 * DAY_MS + 5 * DAY_MS; at += (6 * HOUR) / 7) {
      const next = await step(data, at);
      // What the previous step served stays trusted by the new bundle (replicas that have not reloaded yet).
      const previous = certificate(data['tls.crt']);
      expect(splitPem(next['ca.crt']!).some((pem) => previous.verify(new X509Certificate(pem).publicKey))).toBe(true);
      expect(trustsServed(next)).toBe(true);
      data = next;
    }
  });

  it('serves a Secret without ca.key as it is (brought by the user or cert-manager)', async () => {
    const ca = await generateCa('own CA', 30, T0);
    const serving = await issueServingCertificate(ca, { ...POLICY, days: 10 }, T0);
    const data = { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem, 'ca.crt': ca.certPem };
    expect(await planCertificates(data, POLICY, T0 + 9 * DAY_MS)).toEqual({ reasons: [], external: true });
  });

  it.each([
    ['lacks tls.key', (d: CertificateData) => ({ ...d, 'tls.key': undefined }), 'lacks tls.key'],
    [
      'a key of another certificate',
      (d: CertificateData, other: string) => ({ ...d, 'tls.key': other }),
      'tls.key does not belong to tls.crt',
    ],
    [
      'no certificate in ca.crt',
      (d: CertificateData) => ({ ...d, 'ca.crt': 'nothing' }),
      'ca.crt holds no PEM certificate',
    ],
  ])('refuses a Secret without ca.key that %s, changing nothing', async (_, edit, message) => {
    const ca = await generateCa('own CA', 30, T0);
    const serving = await issueServingCertificate(ca, { ...POLICY, days: 10 }, T0);
    const other = await issueServingCertificate(ca, { ...POLICY, days: 10 }, T0);
    const data = edit({ 'tls.crt': serving.certPem, 'tls.key': serving.keyPem, 'ca.crt': ca.certPem }, other.keyPem);
    for (const key of Object.keys(data) as (keyof CertificateData)[]) if (data[key] === undefined) delete data[key];
    await expect(planCertificates(data, POLICY, T0)).rejects.toBeInstanceOf(CertificateSecretProblem);
    await expect(planCertificates(data, POLICY, T0)).rejects.toThrow(message);
  });

  it('serves a complete certificate put over ours as it is, ignoring the leftover ca.key', async () => {
    const ours = await step({}, T0);
    const ca = await generateCa('own CA', 30, T0);
    const serving = await issueServingCertificate(ca, { ...POLICY, days: 10 }, T0);
    const theirs = { ...ours, 'tls.crt': serving.certPem, 'tls.key': serving.keyPem, 'ca.crt': ca.certPem };
    expect(await planCertificates(theirs, POLICY, T0 + HOUR)).toEqual({ reasons: [], external: true });
  });

  it('replaces a ca.key that belongs to no CA in ca.crt, still trusting the CAs that are there', async () => {
    const data = await step({}, T0);
    const stranger = await generateCa('stranger', 30, T0);
    // tls.key lost too: nothing usable is left but the trust in the old CA.
    const plan = await planCertificates(
      { ...data, 'ca.key': stranger.keyPem, 'tls.key': stranger.keyPem },
      POLICY,
      T0 + HOUR,
    );
    expect(plan.reasons).toEqual(['ca.key belongs to no valid CA in ca.crt: made a new CA']);
    expect(splitPem(plan.data!['ca.crt']!)).toHaveLength(2);
    expect(splitPem(plan.data!['ca.crt']!)[1]).toBe(splitPem(data['ca.crt']!)[0]);
    expect(trustsServed(plan.data!)).toBe(true);
  });
});
