// Runs the built CLI (dist/src/cli/main.js) as a subprocess, the way users and CI run `npx egress-guard`.
// `npm test` builds first (pretest); ensureBuilt() rebuilds when a source is newer than the build, so a
// direct jest run after an edit does not test stale JavaScript.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'cli');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function newestSource(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Compiles with tsc when dist/src/cli/main.js is missing or older than a file under src/. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestSource(join(ROOT, 'src'))) return;
  // tsc emits even when another part of the tree has type errors; the CLI tests then judge the CLI itself.
  const result = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (!existsSync(CLI)) throw new Error(`tsc did not produce ${CLI}:\n${result.stdout}${result.stderr}`);
}

export interface RunOptions {
  stdin?: string;
  /** Replaces the settings variables of the environment (the rest is inherited). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

/** The rule-settings variables the CLI falls back to; cleared so the host's environment cannot leak in. */
const SETTING_VARIABLES = [
  'EXPECTED_PORTS',
  'UNDECLARED_PORTS_ACTION',
  'AUTO_ALLOCATE_MODE',
  'ISTIO_VERSION',
  'ISTIOD_IP_AUTOALLOCATE',
];

export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SETTING_VARIABLES) delete env[name];
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
