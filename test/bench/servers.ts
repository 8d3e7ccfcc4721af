// What both benchmarks start servers with: a serving certificate in a directory of its own, and the environment
// of egress-guard as deployed (no cluster) and of the baseline.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateCertificates } from '../../src/certs/generate.js';
import { freePort } from './processes.js';

export interface BenchServers {
  caCertPem: string;
  /** TLS files, bind address and a HOME without a .kube directory. */
  tlsEnv: Record<string, string>;
  /** A new egress-guard environment on free ports, logging at info. */
  egressEnv(): Promise<Record<string, string>>;
}

export async function prepareServers(dir: string): Promise<BenchServers> {
  const certs = await generateCertificates({
    commonName: 'egress-guard-bench',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    days: 1,
  });
  // A directory of their own, as a Secret volume: egress-guard watches it for renewals, and must not see the log
  // file written next to them.
  const certDir = join(dir, 'certs');
  await mkdir(certDir);
  const certFile = join(certDir, 'tls.crt');
  const keyFile = join(certDir, 'tls.key');
  await writeFile(certFile, certs.certPem);
  await writeFile(keyFile, certs.keyPem, { mode: 0o600 });
  // HOME without a .kube directory: egress-guard finds no cluster and checks each object on its own.
  const tlsEnv = { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, HOST: '127.0.0.1', HOME: dir };
  return {
    caCertPem: certs.caCertPem,
    tlsEnv,
    egressEnv: async () => ({
      ...tlsEnv,
      PORT: String(await freePort()),
      OPS_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_SECONDS: '0',
    }),
  };
}
