#!/usr/bin/env node
// `egress-guard`: the command-line face of the admission rules (package.json "bin").
//
//   egress-guard check -f FILE|DIR|- [-f ...] [-n NS] [--opted-in NS ...] [-o FORMAT] [--fail-on deny|warn]
//   egress-guard audit [--kubeconfig PATH] [--context NAME] [--progress] [-o FORMAT] [--fail-on deny|warn]
//
// Exit status: 0 nothing at the --fail-on level, 1 something at it, 2 usage, read, parse or API errors.
// This file and load-manifests.ts / kube-source.ts do the I/O; everything they call is pure.
import {
  parseCommandLine,
  UsageError,
  USAGE,
  type AuditCommand,
  type CheckCommand,
  type OutputFormat,
} from './args.js';
import { packageVersion } from '../version.js';
import { audit, collectSnapshot } from './audit.js';
import { check } from './check.js';
import { formatJson } from './format-json.js';
import { formatPolicyReports } from './format-policyreport.js';
import { formatSarif } from './format-sarif.js';
import { formatText } from './format-text.js';
import { loadManifests, ManifestError } from './load-manifests.js';
import { manifestObjects } from './objects.js';
import { EXIT_ERROR, EXIT_OK, exitCodeFor, type Report } from './report.js';

const PROGRAM = 'egress-guard';

function out(text: string): void {
  process.stdout.write(text);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

function format(report: Report, output: OutputFormat): string {
  switch (output) {
    case 'text':
      return formatText(report);
    case 'json':
      return formatJson(report);
    case 'policyreport':
      return formatPolicyReports(report, Date.now());
    case 'sarif':
      return formatSarif(report, packageVersion());
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function runCheck(command: CheckCommand): Promise<number> {
  let objects;
  try {
    objects = manifestObjects(await loadManifests(command.files, { readStdin }));
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    err(`${PROGRAM}: ${error.message}`);
    return EXIT_ERROR;
  }
  const report = check(objects, {
    namespace: command.namespace,
    optedIn: command.optedIn,
    settings: command.settings,
    mode: command.mode,
  });
  out(format(report, command.output));
  return exitCodeFor(report, command.failOn);
}

async function runAudit(command: AuditCommand): Promise<number> {
  // Loaded here so `check` starts without the Kubernetes client.
  const { AuditError, kubeSource } = await import('./kube-source.js');
  const showProgress = command.progress || process.stderr.isTTY === true;
  try {
    const source = await kubeSource({
      env: process.env,
      ...(command.kubeconfig === undefined ? {} : { kubeconfig: command.kubeconfig }),
      ...(command.context === undefined ? {} : { context: command.context }),
      ...(showProgress ? { onProgress: err } : {}),
      onNote: err,
    });
    const report = audit(await collectSnapshot(source, command.mode), {
      settings: command.settings,
      mode: command.mode,
    });
    out(format(report, command.output));
    return exitCodeFor(report, command.failOn);
  } catch (error) {
    if (!(error instanceof AuditError)) throw error;
    err(`${PROGRAM}: ${error.message}`);
    return EXIT_ERROR;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // A short usage: the synopsis and where the rest is.
    const synopsis = USAGE[error.topic].split('\n')[0] ?? '';
    const more = error.topic === 'main' ? `${PROGRAM} --help` : `${PROGRAM} ${error.topic} --help`;
    err(`${PROGRAM}: ${error.message}\n${synopsis}\nRun '${more}' for details.`);
    return EXIT_ERROR;
  }
  switch (command.command) {
    case 'help':
      out(`${USAGE[command.topic]}\n`);
      return EXIT_OK;
    case 'version':
      out(`${PROGRAM} ${packageVersion()}\n`);
      return EXIT_OK;
    case 'check':
      return runCheck(command);
    case 'audit':
      return runAudit(command);
  }
}

// `egress-guard ... | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: the Kubernetes client may keep idle connections open. Output is flushed first.
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    err(`${PROGRAM}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(EXIT_ERROR);
  },
);
