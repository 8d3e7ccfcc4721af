// The CLI outside a checkout: `npm pack` makes a tarball, `npm install -g` of it (into a temporary prefix) gives a
// working `egress-guard` on PATH, which checks a fixture as the checkout's CLI does. Real npm; the dependencies
// come from npm's cache when `npm ci` filled it, else from the registry.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, FIXTURES, ROOT } from './run-cli.js';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'egress-guard-pack-'));
// The project's Node (24) first, so npm and the installed bin's `#!/usr/bin/env node` both run on it.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
};
for (const name of ['EXPECTED_PORTS', 'UNDECLARED_PORTS_ACTION', 'AUTO_ALLOCATE_MODE', 'KUBECONFIG']) delete env[name];
let bin = '';

beforeAll(async () => {
  // dist/ is what `prepare` builds (`npm run build`); ensureBuilt runs the same tsc, so pack skips scripts here.
  ensureBuilt();
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', scratch], { cwd: ROOT, env });
  const [tarball] = readdirSync(scratch).filter((name) => /^egress-guard-.*\.tgz$/.test(name));
  if (!tarball) throw new Error(`npm pack made no tarball in ${scratch}`);
  const prefix = join(scratch, 'prefix');
  await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(scratch, tarball)],
    { cwd: scratch, env, timeout: 300_000 },
  );
  bin = join(prefix, 'bin', 'egress-guard');
}, 400_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('egress-guard installed from the npm pack tarball', () => {
  it('is an executable bin outside the checkout that checks a manifest and exits 1 on a deny', async () => {
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const result = await run(bin, ['check', '-f', join(FIXTURES, 'wildcard-dns.yaml')], { cwd: scratch, env }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/ServiceEntry external\/wildcard: \[wildcard-dns\] deny: /);
    expect(result.stdout).toMatch(/1 object checked: 1 deny, 0 warn, 0 info\n$/);
  });

  it('prints its version, and ships no tests or TypeScript sources', async () => {
    const { stdout } = await run(bin, ['--version'], { cwd: scratch, env });
    expect(stdout).toMatch(/^egress-guard \d+\.\d+\.\d+/);
    const installed = join(scratch, 'prefix', 'lib', 'node_modules', 'egress-guard');
    const files = listFiles(installed).filter((file) => !file.startsWith('node_modules/'));
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('package.json');
    expect(files.filter((file) => file.endsWith('.ts') || file.includes('.test.') || file.startsWith('test/'))).toEqual(
      [],
    );
  });
});

function listFiles(directory: string, prefix = ''): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(join(directory, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}
