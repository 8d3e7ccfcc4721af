// `npm run certs`: the plain certificate route, no openssl or cert-manager needed.
//
//   node dist/src/certs/cli.js [--out DIR] [--namespace NS] [--service NAME] [--days N] [--ip IP ...]
//                              [--ca-days N] [--new-ca] [--webhooks FILE] [--apply]
//
// Makes (or reuses, see below) a CA and issues a serving certificate for the Service's DNS names, then writes into
// DIR (default certs/out, git-ignored): ca.crt, ca.key, tls.crt, tls.key, secret.yaml (the egress-guard-certs
// Secret, without ca.key, so the server serves it and registers its ca.crt) and webhooks.yaml (deploy/base/webhooks.yaml
// with every caBundle set, for servers that do not register webhooks). --apply runs `kubectl apply` on the Secret.
//
// Rotation: a CA already in DIR is reused (a new one lives --ca-days, default 10 years), so re-running only
// re-issues the serving certificate and the caBundle stays the same. --new-ca makes a new CA; the caBundle then holds the new and the previous CA, so webhooks.yaml
// can be applied before the server has picked up the new certificate.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeAtomically } from './files.js';
import { generateCa, issueServingCertificate, type CertificateAuthority } from './generate.js';
import { tlsSecretManifest, withCaBundle, withService } from './manifests.js';
import { serviceDnsNames } from './service-names.js';

/** The Secret the server reads (CERT_SECRET). Without ca.key in it, the server serves it as is and never rotates it. */
export const SECRET_NAME = 'egress-guard-certs';

export interface CliOptions {
  out: string;
  namespace: string;
  service: string;
  days: number;
  /** Lifetime of a new CA; longer than the serving certificate so re-issuing can keep it. */
  caDays: number;
  ipAddresses: string[];
  newCa: boolean;
  webhooksFile: string;
  apply: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

const USAGE = `usage: npm run certs -- [--out DIR] [--namespace NS] [--service NAME] [--days N] [--ip IP ...] [--ca-days N] [--new-ca] [--webhooks FILE] [--apply]

  --out DIR         where to write the files (default certs/out)
  --namespace NS    namespace of the webhook Service and the Secret (default egress-guard)
  --service NAME    name of the webhook Service (default egress-guard)
  --days N          validity of the serving certificate (default 365)
  --ip IP           extra IP address SAN; repeat or comma-separate
  --ca-days N       validity of a new CA (default 3650, and never less than --days)
  --new-ca          make a new CA even if DIR already has one (the caBundle then holds both)
  --webhooks FILE   webhook configurations to render (default deploy/base/webhooks.yaml)
  --apply           kubectl apply -f DIR/secret.yaml (uses KUBECONFIG)`;

/** argv without node and the script. Throws UsageError on anything it does not understand. */
export function parseCliArgs(argv: string[], cwd = process.cwd()): CliOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: 'string' },
        namespace: { type: 'string' },
        service: { type: 'string' },
        days: { type: 'string' },
        'ca-days': { type: 'string' },
        ip: { type: 'string', multiple: true },
        'new-ca': { type: 'boolean' },
        webhooks: { type: 'string' },
        apply: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const days = wholeDays(values.days, 365, '--days');
  const caDays = Math.max(wholeDays(values['ca-days'], 3650, '--ca-days'), days);
  const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  const namespace = values.namespace ?? 'egress-guard';
  const service = values.service ?? 'egress-guard';
  if (!dnsLabel.test(namespace)) throw new UsageError(`--namespace: "${namespace}" is not a Kubernetes namespace name`);
  if (!dnsLabel.test(service)) throw new UsageError(`--service: "${service}" is not a Kubernetes Service name`);
  const ipAddresses = (values.ip ?? [])
    .flatMap((ip) => ip.split(',').map((part) => part.trim()))
    .filter((ip) => ip !== '');
  return {
    out: resolve(cwd, values.out ?? join('certs', 'out')),
    namespace,
    service,
    days,
    caDays,
    ipAddresses,
    newCa: values['new-ca'] ?? false,
    webhooksFile: values.webhooks === undefined ? defaultWebhooksFile(cwd) : resolve(cwd, values.webhooks),
    apply: values.apply ?? false,
  };
}

export interface CliIo {
  log(line: string): void;
  /** Runs kubectl with the given arguments; resolves with its exit code. */
  kubectl(args: string[]): Promise<number>;
}

export interface CliResult {
  files: { caCert: string; caKey: string; cert: string; key: string; secret: string; webhooks: string };
  reusedCa: boolean;
  /** Number of CA certificates in the rendered caBundle (2 right after --new-ca replaced a CA still valid). */
  caBundleSize: number;
}

/** Everything after argument parsing: make or reuse the CA, issue, render, write, optionally apply. */
export async function runCerts(options: CliOptions, io: CliIo): Promise<CliResult> {
  const manifests = await readFile(options.webhooksFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the webhook configurations ${options.webhooksFile}: ${error.code ?? error.message}`);
  });
  const files = {
    caCert: join(options.out, 'ca.crt'),
    caKey: join(options.out, 'ca.key'),
    cert: join(options.out, 'tls.crt'),
    key: join(options.out, 'tls.key'),
    secret: join(options.out, 'secret.yaml'),
    webhooks: join(options.out, 'webhooks.yaml'),
  };

  const previous = await readCa(files.caCert, files.caKey);
  const reusedCa = previous !== undefined && !options.newCa;
  const ca: CertificateAuthority = reusedCa
    ? previous
    : await generateCa(`${options.service}.${options.namespace} webhook CA`, options.caDays);

  const dnsNames = serviceDnsNames(options.service, options.namespace);
  const commonName = `${options.service}.${options.namespace}.svc`;
  const serving = await issueServingCertificate(ca, {
    commonName,
    dnsNames,
    ipAddresses: options.ipAddresses,
    days: options.days,
  }).catch((error: Error) => {
    throw new Error(reusedCa ? `${error.message} (run again with --new-ca)` : error.message);
  });

  // Right after a CA change the API server must trust both: the running pods still serve a certificate from the old CA.
  const bundle = [ca.certPem];
  if (!reusedCa && previous !== undefined && stillValid(previous.certPem)) bundle.push(previous.certPem);
  const caBundle = bundle.join('');

  let webhooks = withCaBundle(manifests, caBundle);
  if (options.namespace !== 'egress-guard' || options.service !== 'egress-guard') {
    webhooks = withService(webhooks, options.namespace, options.service);
  }
  const secret = tlsSecretManifest({
    namespace: options.namespace,
    name: SECRET_NAME,
    // The server registers ca.crt as caBundle: right after --new-ca it must hold the previous CA too.
    caCertPem: caBundle,
    ...serving,
    type: 'Opaque',
  });

  await writeAtomically(files.caKey, ca.keyPem, 0o600);
  await writeAtomically(files.caCert, ca.certPem, 0o644);
  await writeAtomically(files.key, serving.keyPem, 0o600);
  await writeAtomically(files.cert, serving.certPem, 0o644);
  await writeAtomically(files.secret, secret, 0o600);
  await writeAtomically(files.webhooks, webhooks, 0o644);

  const show = (path: string) => relative(process.cwd(), path) || path;
  io.log(
    `${reusedCa ? 'reused the CA in' : 'made a new CA:'} ${show(files.caCert)} (key ${show(files.caKey)}, keep it private)`,
  );
  io.log(
    `serving certificate for ${[...dnsNames, ...options.ipAddresses].join(', ')}, valid ${options.days} days: ${show(files.cert)}, ${show(files.key)}`,
  );
  io.log(`Secret ${options.namespace}/${SECRET_NAME} (tls.crt, tls.key, ca.crt; no ca.key): ${show(files.secret)}`);
  io.log(
    `webhook configurations with caBundle (${bundle.length} CA${bundle.length > 1 ? 's: new and previous' : ''}), only for servers that do not register them: ${show(files.webhooks)}`,
  );
  if (options.namespace !== 'egress-guard') {
    io.log(
      `note: the webhooks' namespaceSelector still excludes the namespace "egress-guard" by name; adjust it for "${options.namespace}"`,
    );
  }

  // The Secret only: the running server registers the webhooks with its ca.crt. Applying webhooks.yaml over the
  // shells would make kubectl own their webhooks, and the next `kubectl apply -k deploy/` would remove them.
  const applyArgs = ['apply', '-f', files.secret];
  if (options.apply) {
    io.log(`running: kubectl ${applyArgs.map(show).join(' ')}`);
    const code = await io.kubectl(applyArgs);
    if (code !== 0) throw new Error(`kubectl apply failed with exit code ${code}`);
  } else {
    io.log('next:');
    io.log('  kubectl apply -k deploy/   # if egress-guard is not installed yet');
    io.log(`  kubectl apply -f ${show(files.secret)}`);
  }
  return { files, reusedCa, caBundleSize: bundle.length };
}

function wholeDays(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  const days = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!(days >= 1)) throw new UsageError(`${flag}: "${raw}" is not a positive whole number of days`);
  return days;
}

async function readCa(certFile: string, keyFile: string): Promise<CertificateAuthority | undefined> {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { certPem, keyPem };
}

function stillValid(certPem: string): boolean {
  try {
    return Date.parse(new X509Certificate(certPem).validTo) > Date.now();
  } catch {
    return false;
  }
}

/** deploy/base/webhooks.yaml of this package (found from this file, so any cwd works), else relative to cwd. */
function defaultWebhooksFile(cwd: string): string {
  const relativePath = join('deploy', 'base', 'webhooks.yaml');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return resolve(cwd, relativePath);
    dir = parent;
  }
}

function runKubectl(args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    // stdio inherited and the environment passed through, so KUBECONFIG and kubectl's own settings apply.
    const child = spawn('kubectl', args, { stdio: 'inherit', env: process.env });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'ENOENT' ? 'kubectl is not on PATH; apply the files yourself' : error.message)),
    );
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

export async function main(argv: string[]): Promise<number> {
  try {
    const options = parseCliArgs(argv);
    if (options === 'help') {
      console.log(USAGE);
      return 0;
    }
    await runCerts(options, { log: (line) => console.log(line), kubectl: runKubectl });
    return 0;
  } catch (error) {
    console.error(`certs: ${(error as Error).message}`);
    if (error instanceof UsageError) console.error(USAGE);
    return error instanceof UsageError ? 2 : 1;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) process.exitCode = await main(process.argv.slice(2));
