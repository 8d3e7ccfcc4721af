// End-to-end harness: a real etcd + kube-apiserver on 127.0.0.1 (the way
// controller-runtime's envtest runs them) and kubectl against it. No
// scheduler or kubelet: objects are stored and admitted (webhooks, RBAC, CRD
// validation); only with { controllerManager: true } does a kube-controller-manager
// reconcile Deployments into ReplicaSets and (forever Pending) pods.
//
// Node built-ins only. Binaries come from ./build-binaries.sh (versions pinned
// in ./go/go.mod). Every run lives in test/e2e/.run/<id>/ (git-ignored):
// logs/ stays after stop() for post-mortems, etcd data is removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../support/ports.js';

export interface Binaries {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  etcd: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  stdin?: string;
  /** Resolve with a non-zero code instead of rejecting. */
  allowFail?: boolean;
  /** Kill kubectl after this long (default 60 s). */
  timeoutMs?: number;
}

export interface ClusterOptions {
  /** Max wait for etcd / kube-apiserver readiness each (default 90 s). */
  startTimeoutMs?: number;
  /** Extra kube-apiserver flags, appended (a later flag wins), e.g. ['--v=4']. */
  apiserverArgs?: string[];
  /**
   * Also run kube-controller-manager (own credentials, loopback only, no cloud provider) with the controllers
   * that turn a Deployment into pods: deployment, replicaset, garbage collector, service accounts and tokens.
   */
  controllerManager?: boolean;
}

export interface Cluster {
  /** The run directory (logs/ kept after stop()). */
  dir: string;
  logDir: string;
  /** Own kubeconfig (never ~/.kube/config); kubectl() always passes it. */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  apiserverUrl: string;
  /** Bearer token of user "admin" in group system:masters. */
  adminToken: string;
  /** PEM of the apiserver's self-signed serving chain (trust root for clients). */
  caPem: string;
  etcdUrl: string;
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Stop only kube-apiserver (etcd keeps the data). SIGKILL simulates a crash. */
  stopApiserver(opts?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** (Re)start kube-apiserver on the same port with the same etcd, certs and keys; waits for /readyz. */
  startApiserver(): Promise<void>;
  /** Kill everything and delete the etcd data. Idempotent. */
  stop(): Promise<void>;
}

type ProcessName = 'etcd' | 'apiserver' | 'controller-manager';

const here = dirname(fileURLToPath(import.meta.url));
/** test/e2e in the source tree, also when this file runs compiled from dist/test/e2e. */
const e2eDir = [here, resolve(here, '../../../test/e2e')].find((d) => existsSync(join(d, 'build-binaries.sh')));
function e2eRoot(): string {
  if (!e2eDir) throw new Error(`cluster.ts: cannot find test/e2e/build-binaries.sh from ${here}`);
  return e2eDir;
}

// ---------------------------------------------------------------- binaries

let binaries: Promise<Binaries> | undefined;

/** Builds (or finds) the pinned binaries; the build's progress goes to stderr. */
export function ensureBinaries(): Promise<Binaries> {
  binaries ??= (async () => {
    const script = join(e2eRoot(), 'build-binaries.sh');
    const res = await run('bash', [script], { stderr: 'inherit', timeoutMs: 60 * 60_000 });
    if (res.code !== 0) throw new Error(`${script} failed (exit ${res.code})`);
    const dir = res.stdout.trim().split('\n').pop() ?? '';
    const bins: Binaries = {
      kubeApiserver: join(dir, 'kube-apiserver'),
      kubeControllerManager: join(dir, 'kube-controller-manager'),
      kubectl: join(dir, 'kubectl'),
      etcd: join(dir, 'etcd'),
    };
    for (const p of Object.values(bins)) if (!existsSync(p)) throw new Error(`build-binaries.sh did not produce ${p}`);
    return bins;
  })();
  binaries.catch(() => (binaries = undefined)); // allow a retry after a failed build
  return binaries;
}

// ---------------------------------------------------------------- cluster

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const bins = await ensureBinaries();
  const startTimeoutMs = opts.startTimeoutMs ?? 90_000;

  const runs = join(e2eRoot(), '.run');
  pruneOldRuns(runs, 8);
  const dir = join(
    runs,
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${randomBytes(3).toString('hex')}`,
  );
  const logDir = join(dir, 'logs');
  const certDir = join(dir, 'certs');
  const etcdData = join(dir, 'etcd-data');
  for (const d of [logDir, certDir, etcdData]) mkdirSync(d, { recursive: true, mode: 0o700 });

  const [etcdPort, peerPort, apiPort, kcmPort] = await freePorts(4);
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const apiserverUrl = `https://127.0.0.1:${apiPort}`;

  // Throwaway service-account signing key and admin token.
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(certDir, 'sa.key');
  const saPub = join(certDir, 'sa.pub');
  writeFileSync(saKey, sa.privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('hex');
  const tokenFile = join(certDir, 'tokens.csv');
  // kube-controller-manager's own identity: the user the bootstrap RBAC role system:kube-controller-manager is bound to.
  const kcmToken = randomBytes(24).toString('hex');
  const tokens = [`${adminToken},admin,admin,"system:masters"`];
  if (opts.controllerManager) tokens.push(`${kcmToken},system:kube-controller-manager,kube-controller-manager`);
  writeFileSync(tokenFile, tokens.join('\n') + '\n', { mode: 0o600 });

  // A detached watchdog kills the servers if this process dies without stop()
  // (jest crash, SIGKILL); it reads the current pids from a file.
  const pidFile = join(dir, 'pids');
  const writePids = (): void => writeFileSync(pidFile, [...procs.values()].map((p) => p.pid).join(' ') + '\n');
  const procs = new Map<ProcessName, ChildProcess>();
  writePids();
  const watchdog = spawn(
    'sh',
    [
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 $(cat '${pidFile}') 2>/dev/null; exit 0`,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  // Synchronous last resort on a normal exit of this process without stop().
  const onExit = (): void => {
    for (const p of procs.values()) p.kill('SIGKILL');
  };
  process.once('exit', onExit);

  const logHint = (): string => `logs: ${logDir}`;

  const launch = (name: ProcessName, bin: string, args: string[]): ChildProcess => {
    const fd = openSync(join(logDir, `${name}.log`), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref(); // a forgotten stop() must not keep jest alive; the watchdog cleans up
    child.once('error', (err) =>
      writeFileSync(join(logDir, `${name}.log`), `spawn ${bin}: ${err.message}\n`, { flag: 'a' }),
    );
    procs.set(name, child);
    writePids();
    child.once('exit', () => {
      if (procs.get(name) === child) procs.delete(name);
      try {
        writePids();
      } catch {
        /* run dir already removed */
      }
    });
    return child;
  };

  launch('etcd', bins.etcd, [
    '--name=default',
    `--data-dir=${etcdData}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync=true', // throwaway data; much faster on slow disks
    '--log-level=warn',
  ]);

  const apiserverArgs = [
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${certDir}`, // self-signed serving cert, generated once, reused on restart
    `--secure-port=${apiPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    `--token-auth-file=${tokenFile}`,
    '--authorization-mode=RBAC',
    // Without a controller-manager nothing creates "default" service accounts, which that plugin requires of pods.
    ...(opts.controllerManager ? [] : ['--disable-admission-plugins=ServiceAccount']),
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    // The default reconciler rejects a loopback advertise address for the
    // "kubernetes" Endpoints and logs an error every 10 s; nothing here needs it.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
    ...(opts.apiserverArgs ?? []),
  ];

  let stopped = false;
  const cluster: Cluster = {
    dir,
    logDir,
    kubeconfigPath: join(dir, 'kubeconfig'),
    apiserverUrl,
    adminToken,
    caPem: '',
    etcdUrl,
    kubectl: (args, kOpts = {}) => {
      const all = [`--kubeconfig=${cluster.kubeconfigPath}`, `--cache-dir=${join(dir, 'kube-cache')}`, ...args];
      return run(bins.kubectl, all, { stdin: kOpts.stdin, timeoutMs: kOpts.timeoutMs ?? 60_000 }).then((r) => {
        if (r.code !== 0 && !kOpts.allowFail) {
          throw new Error(`kubectl ${args.join(' ')} -> exit ${r.code}\n${r.stderr}${r.stdout}\n(${logHint()})`);
        }
        return r;
      });
    },
    stopApiserver: async ({ signal = 'SIGTERM' } = {}) => {
      const p = procs.get('apiserver');
      if (p) await kill(p, signal);
    },
    startApiserver: async () => {
      if (stopped) throw new Error('cluster was stopped');
      if (procs.has('apiserver')) return;
      const p = launch('apiserver', bins.kubeApiserver, apiserverArgs);
      await waitFor('kube-apiserver /readyz', p, startTimeoutMs, logHint, () =>
        httpsOk(`${apiserverUrl}/readyz`, adminToken),
      );
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      const m = procs.get('controller-manager');
      if (m) await kill(m, 'SIGTERM');
      const a = procs.get('apiserver');
      if (a) await kill(a, 'SIGTERM');
      const e = procs.get('etcd');
      if (e) await kill(e, 'SIGTERM');
      if (watchdog.pid) {
        try {
          process.kill(watchdog.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      rmSync(etcdData, { recursive: true, force: true });
      rmSync(join(dir, 'kube-cache'), { recursive: true, force: true });
    },
  };

  try {
    const etcd = procs.get('etcd');
    if (!etcd) throw new Error('etcd did not start');
    await waitFor('etcd /health', etcd, startTimeoutMs, logHint, async () => {
      const res = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return res?.ok === true && ((await res.json()) as { health?: string }).health === 'true';
    });
    await cluster.startApiserver();
    // apiserver.crt holds the serving cert followed by its self-signed CA.
    cluster.caPem = readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
    writeFileSync(cluster.kubeconfigPath, kubeconfig(apiserverUrl, cluster.caPem, adminToken), { mode: 0o600 });
    if (opts.controllerManager) {
      const kcmConfig = join(certDir, 'kube-controller-manager.kubeconfig');
      writeFileSync(kcmConfig, kubeconfig(apiserverUrl, cluster.caPem, kcmToken, 'kube-controller-manager'), {
        mode: 0o600,
      });
      const kcm = launch('controller-manager', bins.kubeControllerManager, [
        `--kubeconfig=${kcmConfig}`,
        `--authentication-kubeconfig=${kcmConfig}`,
        `--authorization-kubeconfig=${kcmConfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(certDir, 'kube-controller-manager')}`,
        '--leader-elect=false',
        // Each controller acts as its own service account in kube-system (TokenRequest), as kubeadm runs it.
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${saKey}`,
        '--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller',
        '--profiling=false',
      ]);
      await waitFor('kube-controller-manager /healthz', kcm, startTimeoutMs, logHint, () =>
        httpsOk(`https://127.0.0.1:${kcmPort}/healthz`, ''),
      );
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

// ---------------------------------------------------------------- Istio CRDs

/** Applies istio.io/api's kubernetes/customresourcedefinitions.gen.yaml (version from go/go.mod). */
export async function installIstioCrds(cluster: Cluster): Promise<void> {
  const file = join(await istioApiDir(), 'kubernetes', 'customresourcedefinitions.gen.yaml');
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]);
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/serviceentries.networking.istio.io',
    'crd/destinationrules.networking.istio.io',
  ]);
  // Established can precede the new group showing up in discovery by a moment.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await cluster.kubectl(
      ['get', 'serviceentries.networking.istio.io,destinationrules.networking.istio.io', '-A'],
      {
        allowFail: true,
      },
    );
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`Istio CRDs not served: ${r.stderr}`);
    await sleep(250);
  }
}

let istioDir: Promise<string> | undefined;
function istioApiDir(): Promise<string> {
  istioDir ??= (async () => {
    // The module is in go.sum, so this is a checksum-verified (cached) download.
    const r = await run('go', ['mod', 'download', '-json', 'istio.io/api'], {
      cwd: join(e2eRoot(), 'go'),
      env: { ...process.env, GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local' },
      timeoutMs: 5 * 60_000,
    });
    const dir = r.code === 0 ? (JSON.parse(r.stdout) as { Dir?: string }).Dir : undefined;
    if (!dir) throw new Error(`go mod download -json istio.io/api failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
    return dir;
  })();
  return istioDir;
}

// ---------------------------------------------------------------- helpers

function kubeconfig(server: string, caPem: string, token: string, user = 'admin'): string {
  // JSON is valid YAML; kubectl reads it as is.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'e2e', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user } }],
      'current-context': 'e2e',
      preferences: {},
    },
    null,
    2,
  );
}

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdin?: string | undefined;
  stderr?: 'pipe' | 'inherit';
  timeoutMs: number;
}

/** Runs a command to completion, collecting output; never rejects on exit code. */
function run(cmd: string, args: string[], o: RunOptions): Promise<KubectlResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: o.cwd,
      env: o.env ?? process.env,
      stdio: ['pipe', 'pipe', o.stderr ?? 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${o.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin?.on('error', () => undefined); // EPIPE if the command exits early
    child.stdin?.end(o.stdin ?? '');
  });
}

/** SIGTERM/SIGKILL a child and wait for it; escalates to SIGKILL after 15 s. */
function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(t);
      done();
    });
    child.kill(signal);
  });
}

async function waitFor(
  what: string,
  child: ChildProcess,
  timeoutMs: number,
  logHint: () => string,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(
        `${what}: process exited (${child.exitCode ?? child.signalCode ?? 'spawn failed'}) before ready; ${logHint()}`,
      );
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms; ${logHint()}`);
    await sleep(200);
  }
}

/** GET over TLS without verifying (the cert is being created as we poll); anonymous when token is ''. */
function httpsOk(url: string, token: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request(
      url,
      { rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 5_000 },
      (res) => {
        res.resume();
        done(res.statusCode === 200);
      },
    );
    req.on('error', () => done(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Keeps the newest `keep` run dirs (their logs), removes older ones. Run dir names end in -<pid>-<hex>. */
function pruneOldRuns(runs: string, keep: number): void {
  if (!existsSync(runs)) return;
  const dirs: { path: string; mtime: number }[] = [];
  for (const name of readdirSync(runs)) {
    try {
      const st = statSync(join(runs, name));
      if (st.isDirectory()) dirs.push({ path: join(runs, name), mtime: st.mtimeMs });
    } catch {
      /* removed concurrently */
    }
  }
  dirs.sort((a, b) => b.mtime - a.mtime);
  for (const d of dirs.slice(keep)) rmSync(d.path, { recursive: true, force: true });
  // A run whose process died without stop() left its etcd data (64 MB+) behind.
  for (const d of dirs.slice(0, keep)) {
    const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(d.path)?.[1]);
    if (pid && !alive(pid)) rmSync(join(d.path, 'etcd-data'), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/**
 * For a suite whose cluster starts in beforeAll: the cluster, failing clearly when it did not start, and kubectl
 * with an object (sent as JSON) or text on stdin.
 */
export function suiteCluster(current: () => Cluster | undefined) {
  const k = (): Cluster => {
    const cluster = current();
    if (!cluster) throw new Error('the cluster did not start (see beforeAll)');
    return cluster;
  };
  const kubectl = (args: string[], stdin?: unknown, allowFail = false): Promise<KubectlResult> =>
    k().kubectl(args, {
      ...(stdin === undefined ? {} : { stdin: typeof stdin === 'string' ? stdin : JSON.stringify(stdin) }),
      allowFail,
    });
  return { k, kubectl };
}
