// The chart's tools for its tests: helm, kubeconform and promtool built from their Go modules by
// test/tools/build-tools.sh (versions pinned there), plus the CRDs of the Prometheus Operator and cert-manager.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../e2e/support/egress-guard.js';

export const CHART = join(repoRoot, 'deploy', 'helm', 'egress-guard');
export const VALUES = join(repoRoot, 'test', 'chart', 'values');

export interface Tools {
  helm: string;
  kubeconform: string;
  promtool: string;
  /** CRD YAML files: ServiceMonitor, PrometheusRule, cert-manager Issuer/ClusterIssuer/Certificate. */
  crdDir: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never rejects on a non-zero exit; callers assert on `code`). */
export function run(
  command: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

let tools: Promise<Tools> | undefined;

/** Builds (or finds) the pinned tools; cold, this compiles helm and promtool (many minutes on 2 cores). */
export function ensureTools(): Promise<Tools> {
  tools ??= (async () => {
    const script = join(repoRoot, 'test', 'tools', 'build-tools.sh');
    const result = await run('bash', [script], { timeoutMs: 90 * 60_000 });
    if (result.code !== 0) throw new Error(`${script} failed (exit ${result.code})\n${result.stderr}`);
    const dir = result.stdout.trim().split('\n').pop() ?? '';
    return {
      helm: join(dir, 'helm'),
      kubeconform: join(dir, 'kubeconform'),
      promtool: join(dir, 'promtool'),
      crdDir: join(dir, 'crds'),
    };
  })();
  return tools;
}

/** Helm with its own config, cache and data directories: nothing read from or written to the user's. */
const helmHome = mkdtempSync(join(tmpdir(), 'egress-guard-helm-'));
export async function helm(args: string[], options: { stdin?: string } = {}): Promise<RunResult> {
  const { helm: binary } = await ensureTools();
  return run(binary, args, {
    ...options,
    env: {
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_DATA_HOME: join(helmHome, 'data'),
    },
  });
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Files under test/chart/values/. */
  valuesFiles?: string[];
  set?: string[];
  /** API versions the cluster serves, as `helm template --api-versions` takes them. */
  apiVersions?: string[];
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** The Prometheus Operator kinds, as a cluster serving them lists them. */
export const OPERATOR_APIS = ['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'];

export function templateArgs(options: RenderOptions = {}): string[] {
  return [
    options.release ?? 'egress-guard',
    CHART,
    '--namespace',
    options.namespace ?? 'egress-guard',
    ...(options.valuesFiles ?? []).flatMap((file) => ['--values', join(VALUES, file)]),
    ...(options.set ?? []).flatMap((value) => ['--set', value]),
    ...(options.apiVersions ?? []).flatMap((api) => ['--api-versions', api]),
  ];
}

/** `helm template`: the manifest text, or a thrown error with helm's message. */
export async function template(options: RenderOptions = {}): Promise<string> {
  const result = await helm(['template', ...templateArgs(options)]);
  if (result.code !== 0) throw new Error(`helm template failed (exit ${result.code}):\n${result.stderr}`);
  return result.stdout;
}

export function parseObjects(manifest: string): K8sObject[] {
  const documents = parseAllDocuments(manifest);
  if (!Array.isArray(documents)) return [];
  return documents
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in ${objects.map((o) => o.kind).join(', ')}`);
  return found;
}
