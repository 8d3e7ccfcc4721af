// Reads the certificate Secret, plans, and writes the plan with the resourceVersion it was read at. A conflict means
// another replica wrote first: read again and plan on what it wrote, so no write is ever lost or undone.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { describeError, statusOf } from './kube-clients.js';
import { planCertificates, type CertificateData, type RotationPolicy } from './rotation.js';

const KEYS = ['tls.crt', 'tls.key', 'ca.crt', 'ca.key'] as const;
const MAX_ATTEMPTS = 10;

export interface SecretRef {
  namespace: string;
  name: string;
}

export interface StoredCertificates {
  data: CertificateData;
  /** No ca.key: someone else's certificate, served as is. */
  external: boolean;
  /** This call wrote the Secret (false: it was right already, or another replica's write was adopted). */
  wrote: boolean;
}

export class SecretUnavailable extends Error {
  override name = 'SecretUnavailable';
}

export async function reconcileSecret(
  core: CoreV1Api,
  ref: SecretRef,
  policy: RotationPolicy,
  logger: Logger,
  now: () => number = Date.now,
): Promise<StoredCertificates> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let secret: V1Secret;
    try {
      secret = await core.readNamespacedSecret(ref);
    } catch (error) {
      const hint = statusOf(error) === 404 ? ' (the manifests create it empty; is egress-guard installed?)' : '';
      throw new SecretUnavailable(`cannot read Secret ${ref.namespace}/${ref.name}: ${describeError(error)}${hint}`);
    }
    const data = decode(secret);
    const plan = await planCertificates(data, policy, now());
    if (plan.data === undefined) return { data, external: plan.external, wrote: false };
    const body: V1Secret = {
      ...secret,
      metadata: { ...secret.metadata, managedFields: undefined },
      data: { ...secret.data, ...encode(plan.data) },
    };
    try {
      await core.replaceNamespacedSecret({ ...ref, body });
      logger.info({ secret: `${ref.namespace}/${ref.name}`, reasons: plan.reasons }, 'wrote the certificate Secret');
      return { data: plan.data, external: false, wrote: true };
    } catch (error) {
      if (statusOf(error) !== 409) {
        throw new SecretUnavailable(`cannot update Secret ${ref.namespace}/${ref.name}: ${describeError(error)}`);
      }
      logger.debug(
        { secret: `${ref.namespace}/${ref.name}`, attempt },
        'another replica wrote the Secret first; planning again',
      );
    }
  }
  throw new SecretUnavailable(`Secret ${ref.namespace}/${ref.name}: still conflicting after ${MAX_ATTEMPTS} attempts`);
}

function decode(secret: V1Secret): CertificateData {
  const data: CertificateData = {};
  for (const key of KEYS) {
    const value = secret.data?.[key];
    if (value !== undefined && value !== '') data[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return data;
}

function encode(data: CertificateData): Record<string, string> {
  const encoded: Record<string, string> = {};
  for (const key of KEYS) {
    const value = data[key];
    if (value !== undefined) encoded[key] = Buffer.from(value, 'utf8').toString('base64');
  }
  return encoded;
}
