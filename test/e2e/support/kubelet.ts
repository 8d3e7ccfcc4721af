// The parts of a node the e2e cluster lacks, played by the test: a "kubelet" that runs the Deployment's container
// as `node dist/src/main.js` with the Deployment's own environment (read back from the API server) and a kubeconfig
// holding a token of the egress-guard ServiceAccount, so RBAC is real; and a "Service" that forwards each TCP
// connection to a ready replica (as kube-proxy does with the endpoints of ready pods; TLS passes through).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Cluster } from '../cluster.js';
import { repoRoot } from './egress-guard.js';
import { freePorts } from '../../support/ports.js';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

export interface Replica {
  name: string;
  port: number;
  opsPort: number;
  logFile: string;
  child: ChildProcess;
  ready: boolean;
  exited: Promise<number | string>;
}

/** A kubeconfig for the ServiceAccount (TokenRequest API), as the pod's mounted token would be. */
export async function serviceAccountKubeconfig(cluster: Cluster, namespace: string, name: string): Promise<string> {
  const { stdout } = await cluster.kubectl(['create', 'token', name, '-n', namespace, '--duration=2h']);
  const path = join(cluster.dir, `kubeconfig-${namespace}-${name}`);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'e2e',
        cluster: {
          server: cluster.apiserverUrl,
          'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name, user: { token: stdout.trim() } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: name, namespace } }],
    'current-context': 'e2e',
  };
  writeFileSync(path, JSON.stringify(config), { mode: 0o600 });
  return path;
}

/** The container's env of a Deployment as the kubelet would set it (fieldRef metadata.namespace resolved). */
export async function deploymentEnv(
  cluster: Cluster,
  namespace: string,
  name: string,
): Promise<Record<string, string>> {
  const { stdout } = await cluster.kubectl(['get', 'deployment', name, '-n', namespace, '-o', 'json']);
  const deployment = JSON.parse(stdout) as { spec: { template: { spec: { containers: { env?: EnvVar[] }[] } } } };
  const env: Record<string, string> = {};
  for (const variable of deployment.spec.template.spec.containers[0]?.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = namespace;
    else throw new Error(`the harness cannot resolve env ${variable.name}`);
  }
  return env;
}

export class Kubelet {
  readonly replicas: Replica[] = [];
  private readonly poll: NodeJS.Timeout;

  /** The ServiceAccount's kubeconfig (it exists once the manifests are applied). */
  kubeconfig = '';

  constructor(private readonly logDir: string) {
    this.poll = setInterval(() => void this.probe(), 200);
    this.poll.unref();
  }

  /** Starts a replica with the Deployment's env; PORT/OPS_PORT/HOST are the node's business here (free loopback ports). */
  async start(name: string, env: Record<string, string>): Promise<Replica> {
    const main = join(repoRoot, 'dist/src/main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: npm run build first`);
    const [port, opsPort] = await freePorts(2);
    const logFile = join(this.logDir, `${name}.log`);
    const out = openSync(logFile, 'a');
    const child = spawn(process.execPath, [main], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        ...env,
        PORT: String(port),
        OPS_PORT: String(opsPort),
        HOST: '127.0.0.1',
        KUBECONFIG: this.kubeconfig,
      },
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    );
    const replica: Replica = { name, port: port!, opsPort: opsPort!, logFile, child, ready: false, exited };
    this.replicas.push(replica);
    return replica;
  }

  async waitReady(replica: Replica, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await readyz(replica.opsPort))) {
      if (replica.child.exitCode !== null)
        throw new Error(`${replica.name} exited before ready; see ${replica.logFile}`);
      if (Date.now() > deadline)
        throw new Error(`${replica.name} not ready after ${timeoutMs} ms; see ${replica.logFile}`);
      await sleep(100);
    }
    replica.ready = true;
  }

  /** What the kubelet does to a pod being deleted: SIGTERM, then wait for the exit (the grace period is 30 s). */
  async terminate(replica: Replica): Promise<number | string> {
    if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGTERM');
    const timer = setTimeout(() => replica.child.kill('SIGKILL'), 30_000);
    const result = await replica.exited;
    clearTimeout(timer);
    replica.ready = false;
    return result;
  }

  running(): Replica[] {
    return this.replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  }

  async dispose(): Promise<void> {
    clearInterval(this.poll);
    for (const replica of this.running()) replica.child.kill('SIGKILL');
  }

  private async probe(): Promise<void> {
    await Promise.all(
      this.running().map(async (replica) => {
        replica.ready = await readyz(replica.opsPort);
      }),
    );
  }
}

/** A TCP "Service": each new connection goes to the next ready replica; none ready: the connection is refused. */
export async function startService(kubelet: Kubelet): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let next = 0;
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    const ready = kubelet.running().filter((r) => r.ready);
    const backend = ready[next++ % Math.max(ready.length, 1)];
    if (!backend) {
      client.destroy();
      return;
    }
    const upstream = connect(backend.port, '127.0.0.1');
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
