// Decides the next content of the certificate Secret from its current content and the clock, nothing else, so
// every replica reaches the same decision and a replica that lost a write race simply plans again on what won.
//
// Keys: tls.crt + tls.key (served), ca.crt (every trusted CA, signing CA first: the caBundle), ca.key (the signing
// CA's key; absent = brought by the user or cert-manager, served as is and never rotated here).
// A new CA joins ca.crt an overlap before any certificate it signs is served, and an old CA leaves ca.crt an
// overlap after the last certificate it signed stopped being served: the API server always trusts what is served.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CLOCK_SKEW_MS, DAY_MS, generateCa, issueServingCertificate } from './generate.js';

export type CertificateData = Partial<Record<'tls.crt' | 'tls.key' | 'ca.crt' | 'ca.key', string>>;

export interface RotationPolicy {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  certDays: number;
  caDays: number;
  /** How long a new CA is trusted before it signs the served certificate, and an old one after it stops. */
  overlapMs: number;
}

export interface Plan {
  /** The data to write, or undefined when the Secret is already right. */
  data?: CertificateData;
  /** Why it changes, for the log line (empty when unchanged). */
  reasons: string[];
  /** true: no ca.key, the content is someone else's and is only served. */
  external: boolean;
}

export class CertificateSecretProblem extends Error {
  override name = 'CertificateSecretProblem';
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function splitPem(bundle: string): string[] {
  return (bundle.match(PEM_CERTIFICATE) ?? []).map((block) => `${block}\n`);
}

/** Renewal point: a third of the certificate's own lifetime left (cert-manager's default is the same). */
function dueForRenewal(cert: X509Certificate, now: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return to - now < (to - from) / 3;
}

function expired(cert: X509Certificate, now: number): boolean {
  return now >= Date.parse(cert.validTo);
}

/** Time since the certificate was made (its notBefore is set back by the clock-skew allowance). */
function age(cert: X509Certificate, now: number): number {
  return now - (Date.parse(cert.validFrom) + CLOCK_SKEW_MS);
}

function signedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function coversNames(cert: X509Certificate, policy: RotationPolicy): boolean {
  const sans = new Set((cert.subjectAltName ?? '').split(', '));
  return (
    policy.dnsNames.every((name) => sans.has(`DNS:${name}`)) &&
    policy.ipAddresses.every((ip) => sans.has(`IP Address:${ip}`))
  );
}

function parseCertificate(pem: string | undefined): X509Certificate | undefined {
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string | undefined): boolean {
  if (keyPem === undefined) return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** The plan for `data` at `now`; generating keys is the only side effect. */
export async function planCertificates(data: CertificateData, policy: RotationPolicy, now: number): Promise<Plan> {
  const present = (['tls.crt', 'tls.key', 'ca.crt', 'ca.key'] as const).filter((key) => data[key] !== undefined);
  if (present.length === 0)
    return fresh(policy, now, [], ['the Secret holds no certificate yet: made a CA and a serving certificate']);
  if (data['ca.key'] === undefined) return external(data, now);

  const reasons: string[] = [];
  const trusted = splitPem(data['ca.crt'] ?? '')
    .map((pem) => ({ pem, cert: parseCertificate(pem) }))
    .filter((ca): ca is { pem: string; cert: X509Certificate } => ca.cert !== undefined && !expired(ca.cert, now));
  let signing = trusted.find((ca) => ca.cert.ca && keyMatches(ca.cert, data['ca.key']));
  let caKey = data['ca.key'];
  if (signing === undefined) {
    // Someone put their own complete certificate over ours (route 2 applied after the server filled the Secret):
    // theirs wins, the leftover ca.key is ignored.
    const theirs = parseCertificate(data['tls.crt']);
    if (theirs && keyMatches(theirs, data['tls.key']) && trusted.some((ca) => signedBy(theirs, ca.cert)))
      return external(data, now);
    return fresh(
      policy,
      now,
      trusted.map((ca) => ca.pem),
      ['ca.key belongs to no valid CA in ca.crt: made a new CA'],
    );
  }
  if (dueForRenewal(signing.cert, now)) {
    const next = await generateCa(`${policy.commonName} CA`, policy.caDays, now);
    signing = { pem: next.certPem, cert: new X509Certificate(next.certPem) };
    caKey = next.keyPem;
    reasons.push('the CA is due for renewal: made a new one, trusted beside the old one');
  }

  let certPem = data['tls.crt'];
  let keyPem = data['tls.key'];
  const served = parseCertificate(certPem);
  const servedIssuer = served && trusted.find((ca) => signedBy(served, ca.cert));
  const why = !served
    ? 'tls.crt is missing or unreadable'
    : !keyMatches(served, keyPem)
      ? 'tls.key does not belong to tls.crt'
      : servedIssuer === undefined
        ? 'tls.crt is not signed by a trusted CA'
        : expired(served, now) || dueForRenewal(served, now)
          ? 'the serving certificate is due for renewal'
          : !coversNames(served, policy)
            ? 'the serving certificate lacks a required name'
            : servedIssuer.pem !== signing.pem && age(signing.cert, now) >= policy.overlapMs
              ? 'the new CA has been trusted for the overlap: serving a certificate it signed'
              : undefined;
  // A certificate from a CA that is not trusted yet waits for the overlap, unless nothing valid is served at all.
  const mustWait =
    why === 'the serving certificate is due for renewal' &&
    !expired(served!, now) &&
    age(signing.cert, now) < policy.overlapMs;
  let issuedBy = servedIssuer?.pem;
  if (why !== undefined && !mustWait) {
    const signer = servedIssuer !== undefined && age(signing.cert, now) < policy.overlapMs ? servedIssuer : signing;
    const signerKey = signer.pem === signing.pem ? caKey : data['ca.key'];
    const days = Math.max(1, Math.min(policy.certDays, Math.floor((Date.parse(signer.cert.validTo) - now) / DAY_MS)));
    ({ certPem, keyPem } = await issueServingCertificate(
      { certPem: signer.pem, keyPem: signerKey },
      { commonName: policy.commonName, dnsNames: policy.dnsNames, ipAddresses: policy.ipAddresses, days },
      now,
    ));
    issuedBy = signer.pem;
    reasons.push(why);
  }

  // Keep the signing CA first, then older CAs still needed: the one that signed what is served, and any other
  // until the served certificate has been out for the overlap (replicas still serving an older one).
  const servedAge = age(new X509Certificate(certPem!), now);
  const bundle = [signing.pem];
  for (const ca of trusted) {
    if (ca.pem === signing.pem) continue;
    if (ca.pem === issuedBy || servedAge < policy.overlapMs) bundle.push(ca.pem);
    else reasons.push(`dropped the old CA ${ca.cert.serialNumber} from ca.crt`);
  }
  const next: CertificateData = {
    'tls.crt': certPem!,
    'tls.key': keyPem!,
    'ca.crt': bundle.join(''),
    'ca.key': caKey!,
  };
  const unchanged = (['tls.crt', 'tls.key', 'ca.crt', 'ca.key'] as const).every((key) => next[key] === data[key]);
  return unchanged ? { reasons: [], external: false } : { data: next, reasons, external: false };
}

async function fresh(policy: RotationPolicy, now: number, keep: string[], reasons: string[]): Promise<Plan> {
  const ca = await generateCa(`${policy.commonName} CA`, policy.caDays, now);
  const days = Math.min(policy.certDays, policy.caDays);
  const serving = await issueServingCertificate(
    ca,
    { commonName: policy.commonName, dnsNames: policy.dnsNames, ipAddresses: policy.ipAddresses, days },
    now,
  );
  return {
    data: {
      'tls.crt': serving.certPem,
      'tls.key': serving.keyPem,
      'ca.crt': [ca.certPem, ...keep].join(''),
      'ca.key': ca.keyPem,
    },
    reasons,
    external: false,
  };
}

/** Brought by the user or cert-manager: served as is; a problem is an error, never an overwrite. */
function external(data: CertificateData, now: number): Plan {
  const missing = (['tls.crt', 'tls.key', 'ca.crt'] as const).filter((key) => data[key] === undefined);
  if (missing.length > 0)
    throw new CertificateSecretProblem(
      `the Secret has no ca.key (so it is not ours to fill) and lacks ${missing.join(', ')}`,
    );
  const served = parseCertificate(data['tls.crt']);
  if (!served) throw new CertificateSecretProblem('tls.crt is not a PEM X.509 certificate');
  if (!keyMatches(served, data['tls.key'])) throw new CertificateSecretProblem('tls.key does not belong to tls.crt');
  if (splitPem(data['ca.crt']!).length === 0) throw new CertificateSecretProblem('ca.crt holds no PEM certificate');
  if (expired(served, now))
    throw new CertificateSecretProblem(`tls.crt expired at ${new Date(served.validTo).toISOString()}`);
  return { reasons: [], external: true };
}
