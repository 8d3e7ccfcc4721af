// What run.ts starts beside the server: the certificate from the Secret (self-managed) and the webhook
// registration, then a periodic check that rotates, adopts other replicas' writes and repairs caBundle.
// A new certificate is served only after caBundle holds its CA, so the API server never meets an untrusted one.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import type { Config, Env } from '../config.js';
import type { Logger } from '../log.js';
import type { RunningServer } from '../server.js';
import { certificateSummary, recordCertificate } from '../tls/certificate-reloader.js';
import {
  inspectCertificate,
  sameMaterial,
  secureContextOptions,
  validityProblem,
  type TlsMaterial,
} from '../tls/certificate.js';
import { describeError, kubeClientsFrom, type KubeClients } from './kube-clients.js';
import { registerWebhooks } from './registration.js';
import type { RotationPolicy } from './rotation.js';
import { reconcileSecret, type SecretRef } from './secret-store.js';
import { serviceDnsNames } from './service-names.js';
import type { WebhookTarget } from './webhook-configurations.js';

/** Long enough for every replica's check and the API server's configuration cache to see a new CA. */
export const OVERLAP_MS = 60 * 60 * 1000;
const READY_POLL_MS = 250;

export interface CertificateController {
  /** Self-managed: the material to start the listener with. Files mode: undefined (run.ts reads the files). */
  tls?: TlsMaterial;
  /** Registers the webhooks once the server is ready, then checks every CERT_CHECK_SECONDS. */
  attach(server: RunningServer): void;
  stop(): void;
}

export function rotationPolicy(config: Config): RotationPolicy {
  const { service, namespace, urlBase, certDays, caDays } = config.certificates;
  const host = urlBase === undefined ? undefined : new URL(urlBase).hostname.replace(/^\[|\]$/g, '');
  const dnsNames = serviceDnsNames(service, namespace);
  const ipAddresses: string[] = [];
  if (host !== undefined) (isIP(host) ? ipAddresses : dnsNames).push(host);
  return { commonName: `${service}.${namespace}.svc`, dnsNames, ipAddresses, certDays, caDays, overlapMs: OVERLAP_MS };
}

export async function startCertificates(config: Config, env: Env, logger: Logger): Promise<CertificateController> {
  const settings = config.certificates;
  const selfManaged = settings.source === 'secret';
  if (!selfManaged && settings.webhookConfiguration === undefined)
    return { attach: () => undefined, stop: () => undefined };

  const clients = await kubeClientsFrom(env);
  const ref: SecretRef = { namespace: settings.namespace, name: settings.secret };
  const policy = rotationPolicy(config);
  const target: WebhookTarget = {
    namespace: settings.namespace,
    service: settings.service,
    ...(settings.urlBase === undefined ? {} : { urlBase: settings.urlBase }),
  };

  /** The certificate and the CA bundle to register, from the Secret or from the files. */
  const read = async (): Promise<{ tls?: TlsMaterial; caPem: string }> => {
    if (!selfManaged) return { caPem: await readFile(settings.caFile, 'utf8') };
    const stored = await reconcileSecret(clients.core, ref, policy, logger);
    return {
      tls: { cert: stored.data['tls.crt']!, key: stored.data['tls.key']! },
      caPem: stored.data['ca.crt']!,
    };
  };

  const first = await read();
  if (first.tls) {
    logger.info(
      {
        secret: `${ref.namespace}/${ref.name}`,
        server: clients.server,
        ...certificateSummary(inspectCertificate(first.tls)),
      },
      'serving the certificate from the Secret',
    );
  }
  return new Controller(clients, config, target, read, first, logger);
}

class Controller implements CertificateController {
  readonly tls?: TlsMaterial;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private served: TlsMaterial | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly clients: KubeClients,
    private readonly config: Config,
    private readonly target: WebhookTarget,
    private readonly read: () => Promise<{ tls?: TlsMaterial; caPem: string }>,
    first: { tls?: TlsMaterial; caPem: string },
    private readonly logger: Logger,
  ) {
    if (first.tls) this.tls = first.tls;
    this.served = first.tls;
  }

  attach(server: RunningServer): void {
    void this.registerWhenReady(server).then(() => {
      if (this.stopped) return;
      this.timer = setInterval(() => {
        this.running = this.running.then(() => this.check(server));
      }, this.config.certificates.checkSeconds * 1000);
      this.timer.unref();
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async registerWhenReady(server: RunningServer): Promise<void> {
    const name = this.config.certificates.webhookConfiguration;
    if (name === undefined) return;
    while (!this.stopped && !server.readiness.ready) await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    // Retried until it works: a replica that cannot register still serves, and the others may have registered.
    for (let delay = 1000; !this.stopped; delay = Math.min(delay * 2, 30_000)) {
      try {
        const { caPem } = await this.read();
        const results = await registerWebhooks(this.clients.admission, name, this.target, caPem, 'define', this.logger);
        if (Object.values(results).includes('absent'))
          this.logger.warn(
            { configuration: name, results },
            'a webhook configuration does not exist; the manifests create it',
          );
        return;
      } catch (error) {
        this.logger.warn({ problem: describeError(error), retryInMs: delay }, 'could not register the webhooks');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Never throws: a failed check keeps what is served and registered, and the next one tries again. */
  private async check(server: RunningServer): Promise<void> {
    if (this.stopped) return;
    try {
      const { tls, caPem } = await this.read();
      const name = this.config.certificates.webhookConfiguration;
      // caBundle first: the CA of a certificate must be trusted before the certificate is served. When this check
      // had to change caBundle, the new certificate waits for the next one: the API server picks up a changed
      // configuration a moment later, and until then it only trusts the old bundle.
      const results =
        name === undefined
          ? {}
          : await registerWebhooks(this.clients.admission, name, this.target, caPem, 'maintain', this.logger);
      if (tls && this.served && !sameMaterial(tls, this.served)) {
        if (Object.values(results).includes('written'))
          this.logger.info('caBundle changed just now; serving the new certificate at the next check');
        else this.serve(server, tls);
      }
    } catch (error) {
      this.logger.warn(
        { problem: describeError(error) },
        'certificate check failed; still serving the current certificate',
      );
    }
  }

  private serve(server: RunningServer, tls: TlsMaterial): void {
    const next = inspectCertificate(tls);
    const late = validityProblem(next);
    if (late !== undefined) throw new Error(late);
    const options = secureContextOptions(tls);
    (server.admission.server as unknown as HttpsServer).setSecureContext(options);
    this.served = tls;
    recordCertificate(server.metrics, next);
    server.metrics.tlsReloads.inc({ result: 'success' });
    this.logger.info(certificateSummary(next), 'serving the renewed certificate from the Secret');
  }
}
