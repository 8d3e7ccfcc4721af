// A client that keeps writing while egress-guard is installed, upgraded and removed: ServiceEntries (every fifth a
// wildcard host with resolution DNS, which the validating webhook denies on purpose) and pods in a namespace that
// opted in to DNS capture. Each result is counted under the phase current when the write was sent.
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { sleep } from './kubelet.js';

export interface PhaseCounts {
  serviceEntries: number;
  /** Wildcard entries denied by our webhook: the deliberate denials. */
  denied: number;
  /** Wildcard entries admitted: the webhooks were not registered yet (or any more). */
  wildcardAdmitted: number;
  pods: number;
  /** Pods that got the DNS-capture annotation from the mutating webhook. */
  mutatedPods: number;
  failures: number;
  failureMessages: string[];
}

const empty = (): PhaseCounts => ({
  serviceEntries: 0,
  denied: 0,
  wildcardAdmitted: 0,
  pods: 0,
  mutatedPods: 0,
  failures: 0,
  failureMessages: [],
});

export class Writer {
  readonly counts = new Map<string, PhaseCounts>();

  /** One line per phase, for the suite's closing console.log. */
  table(): string {
    return [...this.counts]
      .map(
        ([phase, c]) =>
          `${phase.padEnd(10)} serviceEntries=${c.serviceEntries} denied=${c.denied} wildcardAdmitted=${c.wildcardAdmitted} pods=${c.pods} mutated=${c.mutatedPods} failures=${c.failures}`,
      )
      .join('\n');
  }
  phase = 'before';
  private stopped = false;
  private loops: Promise<void>[] = [];
  private serial = 0;

  constructor(
    kubeconfigPath: string,
    private readonly namespace: string,
    private readonly pauseMs = 20,
  ) {
    const config = new KubeConfig();
    config.loadFromFile(kubeconfigPath);
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.core = config.makeApiClient(CoreV1Api);
  }

  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  start(): void {
    this.loops = [this.loop(() => this.writeServiceEntry()), this.loop(() => this.writePod())];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  in(phase: string): PhaseCounts {
    let counts = this.counts.get(phase);
    if (!counts) this.counts.set(phase, (counts = empty()));
    return counts;
  }

  private async loop(write: () => Promise<void>): Promise<void> {
    while (!this.stopped) {
      await write();
      await sleep(this.pauseMs);
    }
  }

  private async writeServiceEntry(): Promise<void> {
    const n = ++this.serial;
    const phase = this.phase;
    const wildcard = n % 5 === 0;
    const body = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: `se-${n}`, namespace: this.namespace },
      spec: {
        hosts: [wildcard ? `*.w${n}.example.com` : `h${n}.example.com`],
        location: 'MESH_EXTERNAL',
        resolution: wildcard ? 'DNS' : 'NONE',
        ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
      },
    };
    const counts = this.in(phase);
    counts.serviceEntries++;
    try {
      await this.custom.createNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        namespace: this.namespace,
        plural: 'serviceentries',
        body,
      });
      if (wildcard) counts.wildcardAdmitted++;
    } catch (error) {
      const message = messageOf(error);
      if (wildcard && message.includes('admission webhook "serviceentries.egress-guard.io" denied the request'))
        counts.denied++;
      else this.fail(counts, `ServiceEntry se-${n}: ${message}`);
    }
  }

  private async writePod(): Promise<void> {
    const n = ++this.serial;
    const counts = this.in(this.phase);
    counts.pods++;
    try {
      const pod = await this.core.createNamespacedPod({
        namespace: this.namespace,
        body: {
          metadata: { name: `pod-${n}`, namespace: this.namespace },
          spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1' }] },
        },
      });
      if ((pod.metadata?.annotations?.['proxy.istio.io/config'] ?? '').includes('ISTIO_META_DNS_CAPTURE'))
        counts.mutatedPods++;
    } catch (error) {
      this.fail(counts, `Pod pod-${n}: ${messageOf(error)}`);
    }
  }

  private fail(counts: PhaseCounts, message: string): void {
    counts.failures++;
    if (counts.failureMessages.length < 5) counts.failureMessages.push(message);
  }
}

function messageOf(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const message = (JSON.parse(body) as { message?: string }).message;
      if (message) return message;
    } catch {
      return body.slice(0, 300);
    }
  }
  return error instanceof Error ? error.message.slice(0, 300) : String(error);
}
