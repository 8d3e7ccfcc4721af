// Child processes for the benchmark: free ports, spawning, readiness, and what /proc says about a pid.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpus } from 'node:os';
export { freePort } from '../support/ports.js';

export interface Child {
  process: ChildProcess;
  pid: number;
  /** SIGTERM, then wait for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Spawns `node [nodeArgs] script` with only PATH and `env` in its environment (no KUBECONFIG or in-cluster
 * variables leak in: egress-guard runs without a cluster); stdout goes to `stdoutFile` ('ignore' for /dev/null),
 * stderr is inherited.
 */
export function spawnNode(
  script: string,
  env: Record<string, string>,
  stdoutFile: string | 'ignore' | 'pipe',
  nodeArgs: string[] = [],
): Child {
  return spawnCommand([process.execPath, ...nodeArgs, script], env, stdoutFile);
}

/** spawnNode for any command line: `node` run under another program (valgrind) is spawned this way. */
export function spawnCommand(
  commandLine: readonly string[],
  env: Record<string, string>,
  stdoutFile: string | 'ignore' | 'pipe',
): Child {
  const [command = '', ...args] = commandLine;
  const fd = stdoutFile === 'ignore' || stdoutFile === 'pipe' ? stdoutFile : openSync(stdoutFile, 'a');
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', fd, 'inherit'],
  });
  if (typeof fd === 'number') closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    pid: child.pid ?? -1,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** GET over plain HTTP; resolves with the status (0 when the connection failed). */
export function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = get(url, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
    request.setTimeout(1_000, () => request.destroy());
  });
}

/** Polls `url` until it answers 200; resolves with the milliseconds since `since` (performance.now()). */
export async function waitFor200(url: string, since: number, child: Child, timeoutMs = 15_000): Promise<number> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    if ((await httpStatus(url)) === 200) return performance.now() - since;
    if (exited) throw new Error(`the process behind ${url} exited before it was ready`);
    if (performance.now() - since > timeoutMs) throw new Error(`${url} was not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves when the child prints `line` on its piped stdout. */
export function waitForLine(child: Child, line: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${line}" from pid ${child.pid} after ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.process.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void child.exited.then(() => reject(new Error(`pid ${child.pid} exited before printing "${line}"`)));
  });
}

/** VmRSS and VmHWM (peak) of a live process, in bytes. */
export function memoryOf(pid: number): { rss: number; peakRss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peakRss: kib('VmHWM') };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 1/100 s on Linux). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Where the benchmark puts its processes: the servers on the last CPU, this process (the load generator) on the
 * others, so a server never shares its CPU with the client and both servers are measured on the same one. Without
 * pinning, the kernel moves the server's threads and the client between the two CPUs of this machine, and an
 * interleaved run's ratios spread twice as far (0.78-0.91 against 0.87-0.89 for the same build). A webhook pod with a
 * CPU limit of one core is served the same way. Undefined where there is one CPU or no `taskset`.
 */
export interface Placement {
  /** The CPU list for `taskset -c` of each server. */
  serverCpus: string;
  /** The CPU list this process runs on. */
  clientCpus: string;
}

export function pinServersApart(): Placement | undefined {
  const count = cpus().length;
  if (count < 2) return undefined;
  const placement = { serverCpus: String(count - 1), clientCpus: cpuRange(count - 1) };
  return runThisProcessOn(placement.clientCpus) ? placement : undefined;
}

/** Lets this process run on every CPU again (after pinServersApart). */
export function unpinThisProcess(): void {
  runThisProcessOn(cpuRange(cpus().length));
}

/** `taskset -c` for the first `count` CPUs. */
function cpuRange(count: number): string {
  return count === 1 ? '0' : `0-${count - 1}`;
}

/** Moves every thread of this process to `cpuList` (autocannon runs in it, so not only the main one); false without taskset. */
function runThisProcessOn(cpuList: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** spawnNode, on the servers' CPU when `placement` says so. */
export function spawnServer(
  placement: Placement | undefined,
  script: string,
  env: Record<string, string>,
  stdoutFile: string | 'ignore' | 'pipe',
  nodeArgs: string[] = [],
): Child {
  const node = [process.execPath, ...nodeArgs, script];
  return spawnCommand(placement ? ['taskset', '-c', placement.serverCpus, ...node] : node, env, stdoutFile);
}
