// A client for the Istio oracle (test/istio/oracle): one long-lived process running Istio's own validation
// webhook, injector annotation handling and traffic simulation, asked one JSON line at a time.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ValidateAnswer {
  allowed: boolean;
  message?: string;
  warnings?: string[];
}

export interface InjectAnswer {
  accepted: boolean;
  error?: string;
  proxyConfig?: Record<string, unknown>;
  proxyMetadata: Record<string, string> | null;
}

export interface Probe {
  host: string;
  port: number;
  protocol: string;
}

export type ProbeOutcome = 'host' | 'passthrough' | 'missing-cluster' | 'other-cluster' | 'no-vip' | 'error';

export interface ProbeAnswer extends Probe {
  vip?: string;
  listener?: string;
  cluster?: string;
  outcome: ProbeOutcome;
  error?: string;
}

export interface SimulateAnswer {
  names: Record<string, string[]>;
  probes: ProbeAnswer[];
  clusters: string[];
}

export type Allocator = 'istiod' | 'legacy';

interface Answer {
  id: number;
  error?: string;
  validate?: ValidateAnswer;
  inject?: InjectAnswer;
  simulate?: SimulateAnswer;
}

// Istio's packages and Go's testing package print to stdout too; the oracle marks its own lines.
const MARKER = '@@oracle ';

export class IstioOracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, (answer: Answer) => void>();
  private nextId = 1;
  private exited: string | undefined;

  constructor(binary: string) {
    this.child = spawn(binary, ['-test.run', '^TestOracle$'], {
      env: { ...process.env, ISTIO_ORACLE: 'serve' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Istio logs every request to stderr: drain it so the pipe never fills.
    this.child.stderr.resume();
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (!line.startsWith(MARKER)) return;
      const answer = JSON.parse(line.slice(MARKER.length)) as Answer;
      this.pending.get(answer.id)?.(answer);
      this.pending.delete(answer.id);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = `the Istio oracle exited (${code ?? signal})`;
      for (const resolve of this.pending.values()) resolve({ id: 0, error: this.exited });
      this.pending.clear();
    });
  }

  static fromEnv(): IstioOracle {
    const binary = process.env.ISTIO_ORACLE_BIN;
    if (binary === undefined || binary === '')
      throw new Error('ISTIO_ORACLE_BIN is not set: run the differential tests with `npm run test:istio`');
    return new IstioOracle(binary);
  }

  private ask(request: Record<string, unknown>): Promise<Answer> {
    if (this.exited !== undefined) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (answer) =>
        answer.error === undefined ? resolve(answer) : reject(new Error(answer.error)),
      );
      this.child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  /** istiod's validating webhook (pkg/webhooks/validation/server) on one object. */
  async validate(object: unknown, operation: 'CREATE' | 'UPDATE' = 'CREATE'): Promise<ValidateAnswer> {
    const answer = await this.ask({ op: 'validate', object, operation });
    return answer.validate as ValidateAnswer;
  }

  /** The sidecar injector's check of proxy.istio.io/config and mesh.ApplyProxyConfig on the default mesh. */
  async inject(annotation: string): Promise<InjectAnswer> {
    const answer = await this.ask({ op: 'inject', annotation });
    return answer.inject as InjectAnswer;
  }

  /** pilot's traffic simulation for a DNS-capturing sidecar in `namespace`, and its DNS name table. */
  async simulate(request: {
    objects: readonly unknown[];
    namespace: string;
    allocator: Allocator;
    probes: readonly Probe[];
  }): Promise<SimulateAnswer> {
    const answer = await this.ask({ op: 'simulate', simulate: request });
    return answer.simulate as SimulateAnswer;
  }

  close(): Promise<void> {
    if (this.exited !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}
