import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { parseCliArgs, runCerts, UsageError, type CliIo, type CliOptions } from './cli.js';

const REPO_WEBHOOKS = fileURLToPath(new URL('../../deploy/base/webhooks.yaml', import.meta.url));

describe('parseCliArgs', () => {
  it('has defaults for everything', () => {
    expect(parseCliArgs([], '/repo')).toEqual({
      out: resolve('/repo/certs/out'),
      namespace: 'egress-guard',
      service: 'egress-guard',
      days: 365,
      caDays: 3650,
      ipAddresses: [],
      newCa: false,
      webhooksFile: REPO_WEBHOOKS,
      apply: false,
    });
  });

  it('reads every option; --ip repeats and splits on commas', () => {
    const options = parseCliArgs(
      [
        '--out',
        'x',
        '--namespace',
        'ns',
        '--service',
        'svc',
        '--days',
        '30',
        '--ca-days',
        '10',
        '--ip',
        '10.0.0.1,10.0.0.2',
        '--ip',
        '::1',
        '--new-ca',
        '--webhooks',
        'w.yaml',
        '--apply',
      ],
      '/repo',
    );
    expect(options).toEqual({
      out: resolve('/repo/x'),
      namespace: 'ns',
      service: 'svc',
      days: 30,
      caDays: 30, // a CA never lives shorter than the certificates it signs
      ipAddresses: ['10.0.0.1', '10.0.0.2', '::1'],
      newCa: true,
      webhooksFile: resolve('/repo/w.yaml'),
      apply: true,
    });
  });

  it('says what is wrong', () => {
    expect(parseCliArgs(['--help'])).toBe('help');
    expect(() => parseCliArgs(['--days', 'ten'])).toThrow(UsageError);
    expect(() => parseCliArgs(['--days', '0'])).toThrow(/--days/);
    expect(() => parseCliArgs(['--namespace', 'Not_A_Name'])).toThrow(/--namespace/);
    expect(() => parseCliArgs(['--unknown'])).toThrow(UsageError);
    expect(() => parseCliArgs(['positional'])).toThrow(UsageError);
  });
});

describe('runCerts', () => {
  let dir: string;
  let lines: string[];
  let kubectlCalls: string[][];
  let kubectlCode: number;
  const io: CliIo = {
    log: (line) => void lines.push(line),
    kubectl: async (args) => {
      kubectlCalls.push(args);
      return kubectlCode;
    },
  };
  const options = (overrides: Partial<CliOptions> = {}): CliOptions => ({
    ...(parseCliArgs(['--out', dir]) as CliOptions),
    ...overrides,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'egress-guard-certs-cli-'));
    lines = [];
    kubectlCalls = [];
    kubectlCode = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const caBundles = (file: string) =>
    parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) =>
      (doc.toJS() as { webhooks: { clientConfig: { caBundle: string } }[] }).webhooks.map((hook) =>
        Buffer.from(hook.clientConfig.caBundle, 'base64').toString(),
      ),
    );

  it('writes the CA, the serving pair, the Secret and the webhooks with caBundle, then says what to run', async () => {
    const result = await runCerts(options(), io);

    const ca = new X509Certificate(readFileSync(result.files.caCert));
    const cert = new X509Certificate(readFileSync(result.files.cert));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('egress-guard.egress-guard.svc')).toBeDefined();
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(364 * 24 * 3600 * 1000);
    expect(Date.parse(ca.validTo) - Date.now()).toBeGreaterThan(3649 * 24 * 3600 * 1000);
    for (const file of [result.files.caKey, result.files.key, result.files.secret])
      expect(statSync(file).mode & 0o777).toBe(0o600);

    const secret = parse(readFileSync(result.files.secret, 'utf8')) as {
      metadata: object;
      type: string;
      data: Record<string, string>;
    };
    expect(secret.metadata).toMatchObject({ name: 'egress-guard-certs', namespace: 'egress-guard' });
    expect(secret.type).toBe('Opaque');
    expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const decoded = (key: string) => Buffer.from(secret.data[key] ?? '', 'base64').toString();
    expect(decoded('tls.crt')).toBe(readFileSync(result.files.cert, 'utf8'));
    expect(decoded('tls.key')).toBe(readFileSync(result.files.key, 'utf8'));
    expect(decoded('ca.crt')).toBe(readFileSync(result.files.caCert, 'utf8'));

    expect(caBundles(result.files.webhooks)).toEqual([
      readFileSync(result.files.caCert, 'utf8'),
      readFileSync(result.files.caCert, 'utf8'),
    ]);
    expect(result).toMatchObject({ reusedCa: false, caBundleSize: 1 });
    expect(lines.join('\n')).toMatch(/kubectl apply -f \S*secret\.yaml$/m);
    expect(kubectlCalls).toEqual([]);
  });

  it('reuses the CA in the directory, so the caBundle does not change', async () => {
    await runCerts(options(), io);
    const caBefore = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const certBefore = readFileSync(join(dir, 'tls.crt'), 'utf8');
    const result = await runCerts(options(), io);
    expect(result.reusedCa).toBe(true);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(caBefore);
    expect(readFileSync(join(dir, 'tls.crt'), 'utf8')).not.toBe(certBefore);
    expect(caBundles(result.files.webhooks)[0]).toBe(caBefore);
  });

  it('--new-ca trusts the new and the previous CA until the next run', async () => {
    await runCerts(options(), io);
    const oldCa = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const rotated = await runCerts(options({ newCa: true }), io);
    const newCa = readFileSync(join(dir, 'ca.crt'), 'utf8');
    expect(newCa).not.toBe(oldCa);
    expect(rotated.caBundleSize).toBe(2);
    expect(caBundles(rotated.files.webhooks)[0]).toBe(newCa + oldCa);
    // The Secret's ca.crt is what the server registers as caBundle: both CAs as well.
    const secretCa = (parse(readFileSync(rotated.files.secret, 'utf8')) as { data: Record<string, string> }).data[
      'ca.crt'
    ];
    expect(Buffer.from(secretCa ?? '', 'base64').toString()).toBe(newCa + oldCa);
    const settled = await runCerts(options(), io);
    expect(settled.caBundleSize).toBe(1);
    expect(caBundles(settled.files.webhooks)[0]).toBe(newCa);
  });

  it('follows --namespace/--service in the SANs, the Secret and the webhook Service references', async () => {
    const result = await runCerts(options({ namespace: 'ops', service: 'guard' }), io);
    const cert = new X509Certificate(readFileSync(result.files.cert));
    expect(cert.checkHost('guard.ops.svc')).toBe('guard.ops.svc');
    expect(cert.checkHost('egress-guard.egress-guard.svc')).toBeUndefined();
    expect(parse(readFileSync(result.files.secret, 'utf8'))).toMatchObject({ metadata: { namespace: 'ops' } });
    const services = parseAllDocuments(readFileSync(result.files.webhooks, 'utf8')).map(
      (doc) => (doc.toJS() as { webhooks: { clientConfig: { service: object } }[] }).webhooks[0]?.clientConfig.service,
    );
    expect(services).toEqual([
      { namespace: 'ops', name: 'guard', path: '/mutate/pods', port: 443 },
      { namespace: 'ops', name: 'guard', path: '/validate/serviceentries', port: 443 },
    ]);
  });

  it('--apply runs kubectl apply on the Secret alone (the server registers the webhooks), and fails when kubectl does', async () => {
    const result = await runCerts(options({ apply: true }), io);
    expect(kubectlCalls).toEqual([['apply', '-f', result.files.secret]]);
    kubectlCode = 1;
    await expect(runCerts(options({ apply: true }), io)).rejects.toThrow(/exit code 1/);
  });

  it('names a missing webhooks file', async () => {
    await expect(runCerts(options({ webhooksFile: join(dir, 'nope.yaml') }), io)).rejects.toThrow(/nope\.yaml: ENOENT/);
  });
});
