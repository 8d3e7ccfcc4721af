// readTlsFiles: which unreadable files the message names, in what order, whichever read happens to fail first.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateProblem, readTlsFiles } from './certificate.js';

describe('readTlsFiles', () => {
  let dir: string;
  const at = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eg-tls-files-'));
    await writeFile(at('tls.crt'), 'CERT');
    await writeFile(at('tls.key'), 'KEY');
    await writeFile(at('ca.crt'), 'CA');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('returns the three files as read', async () => {
    const material = await readTlsFiles({
      certFile: at('tls.crt'),
      keyFile: at('tls.key'),
      clientCaFile: at('ca.crt'),
    });
    expect([material.cert, material.key, material.clientCa].map(String)).toEqual(['CERT', 'KEY', 'CA']);
  });

  it('leaves clientCa out when no client CA file is set', async () => {
    expect(await readTlsFiles({ certFile: at('tls.crt'), keyFile: at('tls.key') })).not.toHaveProperty('clientCa');
  });

  it.each([
    ['the key alone', { keyFile: 'gone.key' }, [['TLS_KEY_FILE', 'gone.key']]],
    ['the client CA alone', { clientCaFile: 'gone-ca.crt' }, [['CLIENT_CA_FILE', 'gone-ca.crt']]],
    [
      'all three, in setting order',
      { certFile: 'a.crt', keyFile: 'b.key', clientCaFile: 'c.crt' },
      [
        ['TLS_CERT_FILE', 'a.crt'],
        ['TLS_KEY_FILE', 'b.key'],
        ['CLIENT_CA_FILE', 'c.crt'],
      ],
    ],
  ])(
    'names %s',
    async (_, missing: Partial<Record<'certFile' | 'keyFile' | 'clientCaFile', string>>, named: string[][]) => {
      const files = { certFile: at('tls.crt'), keyFile: at('tls.key'), clientCaFile: at('ca.crt') };
      for (const [field, name] of Object.entries(missing)) files[field as keyof typeof files] = at(name);
      const failure = readTlsFiles(files);
      await expect(failure).rejects.toBeInstanceOf(CertificateProblem);
      await expect(failure).rejects.toThrow(
        named.map(([setting, name]) => `cannot read ${setting} ${at(name!)}: ENOENT`).join('; '),
      );
    },
  );

  it('gives the error code of a path that is not a file', async () => {
    await expect(readTlsFiles({ certFile: dir, keyFile: at('tls.key') })).rejects.toThrow(
      `cannot read TLS_CERT_FILE ${dir}: EISDIR`,
    );
  });
});
