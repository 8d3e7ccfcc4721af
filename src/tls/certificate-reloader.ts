// Serves a renewed certificate without a restart. cert-manager renews the Secret; the kubelet writes the new
// files into a fresh `..<timestamp>` directory and swaps the `..data` symlink, so the file names never change
// and only their directory sees events: that is what is watched. A pair that would break TLS is refused and
// the one being served is kept.
import { watch, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  inspectCertificate,
  readTlsFiles,
  sameMaterial,
  secureContextOptions,
  validityProblem,
  type ServingCertificate,
  type TlsFiles,
  type TlsMaterial,
} from './certificate.js';

export interface CertificateReloaderOptions {
  files: TlsFiles;
  /** What the listener serves now. */
  current: ServingCertificate;
  /** Replaces the listener's secure context (tls.Server#setSecureContext); new connections get it. */
  apply: (options: SecureContextOptions) => void;
  logger: Logger;
  metrics: Metrics;
  /** fs.watch can miss a symlink swap, and some volumes never report events: re-read this often anyway. */
  recheckMs?: number;
  /** Off: rely on the re-check alone. */
  watch?: boolean;
}

export type ReloadResult = 'unchanged' | 'reloaded' | 'rejected';

/** The kubelet's swap is several directory events in a row; read the files once they have settled. */
const SETTLE_MS = 100;
const DEFAULT_RECHECK_MS = 10_000;

export class CertificateReloader {
  private current: ServingCertificate;
  private readonly watchers: FSWatcher[] = [];
  private recheck: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  /** Checks run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The last refused version and why: the same refusal is logged and counted once, not on every re-check. */
  private lastRefusal: string | undefined;

  constructor(private readonly options: CertificateReloaderOptions) {
    this.current = options.current;
  }

  get serving(): ServingCertificate {
    return this.current;
  }

  start(): void {
    if (this.options.watch !== false) this.watchDirectories();
    this.recheck = setInterval(() => void this.check(), this.options.recheckMs ?? DEFAULT_RECHECK_MS).unref();
  }

  stop(): void {
    clearInterval(this.recheck);
    clearTimeout(this.settle);
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }

  /** Reads the files now and serves them if they changed and pass; resolves with what happened. */
  check(): Promise<ReloadResult> {
    const result = this.queue.then(() => this.reloadIfChanged());
    this.queue = result;
    return result;
  }

  private watchDirectories(): void {
    const { certFile, keyFile, clientCaFile } = this.options.files;
    const directories = new Set(
      [certFile, keyFile, ...(clientCaFile ? [clientCaFile] : [])].map((file) => dirname(file)),
    );
    for (const directory of directories) {
      try {
        const watcher = watch(directory, { persistent: false }, () => this.checkSoon());
        watcher.on('error', (error) => {
          this.options.logger.warn(
            { directory, problem: error.message },
            'stopped watching the TLS directory; re-reading it periodically instead',
          );
          watcher.close();
        });
        this.watchers.push(watcher);
      } catch (error) {
        this.options.logger.warn(
          { directory, problem: (error as Error).message },
          'cannot watch the TLS directory; re-reading it periodically instead',
        );
      }
    }
  }

  private checkSoon(): void {
    if (this.settle) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      void this.check();
    }, SETTLE_MS);
    this.settle.unref();
  }

  /** Never throws: every failure is a refusal, logged with its reason while the served pair stays. */
  private async reloadIfChanged(): Promise<ReloadResult> {
    let material: TlsMaterial | undefined;
    let next: ServingCertificate;
    try {
      material = await readTlsFiles(this.options.files);
      if (sameMaterial(material, this.current.material)) {
        this.lastRefusal = undefined;
        this.recordExpiry();
        return 'unchanged';
      }
      next = inspectCertificate(material);
      const late = validityProblem(next);
      if (late !== undefined) throw new Error(late);
      this.options.apply(secureContextOptions(material));
    } catch (error) {
      this.refuse(material, error instanceof Error ? error.message : String(error));
      return 'rejected';
    }
    this.current = next;
    this.lastRefusal = undefined;
    this.options.metrics.tlsReloads.inc({ result: 'success' });
    this.recordExpiry();
    this.options.logger.info(certificateSummary(next), 'serving the changed TLS files');
    return 'reloaded';
  }

  private refuse(material: TlsMaterial | undefined, problem: string): void {
    this.recordExpiry();
    const refusal = `${material ? digest(material) : 'unreadable'}\n${problem}`;
    if (refusal === this.lastRefusal) return;
    this.lastRefusal = refusal;
    this.options.metrics.tlsReloads.inc({ result: 'rejected' });
    const { certFile, keyFile, clientCaFile } = this.options.files;
    this.options.logger.error(
      {
        problem,
        certFile,
        keyFile,
        ...(clientCaFile ? { clientCaFile } : {}),
        serving: certificateSummary(this.current),
      },
      'refused the changed TLS files; still serving the previous certificate',
    );
  }

  private recordExpiry(): void {
    recordCertificate(this.options.metrics, this.current);
  }
}

/** Sets the expiry gauge; called on every load and re-check, so it stays current between scrapes. */
export function recordCertificate(metrics: Metrics, certificate: ServingCertificate): void {
  metrics.tlsCertificateExpiry.set(Math.round((certificate.notAfter.getTime() - Date.now()) / 1000));
  metrics.tlsCertificateExpiration.set(certificate.notAfter.getTime() / 1000);
}

/** What a log line says about a certificate: enough to match it with `openssl x509`, nothing secret. */
export function certificateSummary(certificate: ServingCertificate): Record<string, string> {
  return {
    subject: certificate.subject,
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    notAfter: certificate.notAfter.toISOString(),
  };
}

function digest(material: TlsMaterial): string {
  const hash = createHash('sha256');
  for (const part of [material.cert, material.key, material.clientCa ?? '']) hash.update(part).update('\0');
  return hash.digest('hex');
}
