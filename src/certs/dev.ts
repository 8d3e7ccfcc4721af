// `npm start` only: a development CA and serving certificate when the configured files are missing.
// The production entry point (main.ts) never imports this module and never creates certificates.
import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeAtomically } from './files.js';
import { generateCertificates } from './generate.js';
import { serviceDnsNames } from './service-names.js';

export interface DevCertificateLog {
  info(o: object, msg: string): void;
}

const DEV_DAYS = 365;

/**
 * Both files present: nothing happens. Otherwise a new CA and serving certificate (SANs localhost, 127.0.0.1, ::1 and
 * the in-cluster Service names) replace them, and the CA goes to ca.crt beside the certificate. The CA key is not
 * kept: nothing else can be signed by a CA someone may have chosen to trust.
 */
export async function ensureDevCertificates(
  certFile: string,
  keyFile: string,
  log: DevCertificateLog,
): Promise<{ created: boolean; caFile: string }> {
  const caFile = join(dirname(certFile), 'ca.crt');
  if ((await exists(certFile)) && (await exists(keyFile))) return { created: false, caFile };

  const dnsNames = ['localhost', ...serviceDnsNames()];
  const ipAddresses = ['127.0.0.1', '::1'];
  const certs = await generateCertificates({ commonName: 'egress-guard-dev', dnsNames, ipAddresses, days: DEV_DAYS });
  await writeAtomically(keyFile, certs.keyPem, 0o600);
  await writeAtomically(certFile, certs.certPem, 0o644);
  await writeAtomically(caFile, certs.caCertPem, 0o644);
  log.info(
    {
      caFile: resolve(caFile),
      certFile: resolve(certFile),
      keyFile: resolve(keyFile),
      dnsNames,
      ipAddresses,
      days: DEV_DAYS,
    },
    `created a development CA and serving certificate; clients trust it with the CA in ${resolve(caFile)}`,
  );
  return { created: true, caFile };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
