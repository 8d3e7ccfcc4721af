import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests, ManifestError, parseManifests } from './load-manifests.js';

const SE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: a
spec:
  hosts:
  - one.example.com
  - two.example.com
`;

describe('parseManifests', () => {
  it('reads every document with its index and first line, skipping empty ones', () => {
    const documents = parseManifests(
      `# leading comment\n---\n${SE}---\n---\n# only a comment\n---\nkind: X\napiVersion: v1\n`,
      'f.yaml',
    );
    expect(documents.map(({ file, index, line }) => ({ file, index, line }))).toEqual([
      { file: 'f.yaml', index: 1, line: 3 },
      { file: 'f.yaml', index: 4, line: 15 },
    ]);
    expect(documents[0]?.content).toMatchObject({
      kind: 'ServiceEntry',
      spec: { hosts: ['one.example.com', 'two.example.com'] },
    });
  });

  it.each([
    [['spec', 'hosts', 1], 8],
    [['spec', 'hosts', 0], 7],
    [['spec', 'hosts'], 7],
    [['metadata', 'name'], 4],
    // Missing fields fall back to the nearest ancestor that exists, then to the document.
    [['spec', 'hosts', 5], 7],
    [['spec', 'ports', 0], 6],
    [['status'], 1],
    [[], 1],
  ] as const)('finds the line of %j', (path, line) => {
    const [document] = parseManifests(SE, 'f.yaml');
    expect(document?.lineAt(path)).toBe(line);
  });

  it('returns nothing for an empty stream', () => {
    expect(parseManifests('', 'f.yaml')).toEqual([]);
    expect(parseManifests('# nothing\n', 'f.yaml')).toEqual([]);
  });

  it('reads YAML as kubectl does: YAML 1.1 booleans and merge keys', () => {
    const [document] = parseManifests('base: &base {a: 1}\nmerged:\n  <<: *base\n  b: 2\nflag: yes\n', 'f.yaml');
    expect(document?.content).toEqual({ base: { a: 1 }, merged: { a: 1, b: 2 }, flag: true });
  });

  it('reads JSON, with line numbers', () => {
    const [document] = parseManifests(
      '{\n  "kind": "ServiceEntry",\n  "spec": {\n    "hosts": ["a", "b"]\n  }\n}\n',
      'f.json',
    );
    expect(document?.content).toEqual({ kind: 'ServiceEntry', spec: { hosts: ['a', 'b'] } });
    expect(document?.lineAt(['spec', 'hosts', 1])).toBe(4);
  });

  it('falls back to JSON.parse for JSON that is not YAML', () => {
    // Tabs as indentation are fine in JSON but not in YAML.
    const [document] = parseManifests('{\n\t"kind": "X",\n\t"items": [\n\t\t1\n\t]\n}', 'tabs.json');
    expect(document?.content).toEqual({ kind: 'X', items: [1] });
    expect(document?.line).toBe(1);
  });

  it.each([
    ['an unclosed flow sequence', 'a: 1\nb: [1, 2\nc: 3\n', 3],
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', 3],
    ['bad indentation', 'a:\n  b: 1\n c: 2\n', 3],
    ['an error in the second document (yaml reports where it noticed)', 'a: 1\n---\nb: "unterminated\n', 4],
  ])('throws a ManifestError naming the file and line for %s', (_, text, line) => {
    let error: unknown;
    try {
      parseManifests(text, 'bad.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect(error).toMatchObject({ file: 'bad.yaml', line });
    expect((error as Error).message).toMatch(new RegExp(`^bad\\.yaml:${line}: \\S`));
    expect((error as Error).message).not.toContain('\n');
  });

  it('refuses alias bombs', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefghij'
        .split('')
        .map((name, index) => `${name}: &${name} [${Array(10).fill(`*${'abcdefghij'[index]}`).join(', ')}]`),
    ].join('\n');
    expect(() => parseManifests(bomb, 'bomb.yaml')).toThrow(ManifestError);
  });
});

describe('loadManifests', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'egress-guard-load-'));
    mkdirSync(join(dir, 'tree', 'b-nested'), { recursive: true });
    writeFileSync(join(dir, 'tree', 'c.yml'), 'kind: C\n');
    writeFileSync(join(dir, 'tree', 'a.yaml'), 'kind: A\n---\nkind: A2\n');
    writeFileSync(join(dir, 'tree', 'b-nested', 'x.json'), '{"kind": "B"}');
    writeFileSync(join(dir, 'tree', 'notes.txt'), 'kind: ignored\n');
    writeFileSync(join(dir, 'tree', 'UPPER.YAML'), 'kind: U\n');
    // A loop back to the top must not be walked forever.
    symlinkSync(join(dir, 'tree'), join(dir, 'tree', 'b-nested', 'loop'));
    writeFileSync(join(dir, 'plain.txt'), 'kind: P\n');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const kinds = (documents: { content: unknown }[]) =>
    documents.map((document) => (document.content as { kind: string }).kind);

  it('walks directories recursively in name order, reading only manifest extensions', async () => {
    const documents = await loadManifests([join(dir, 'tree')], { readStdin: async () => '' });
    expect(kinds(documents)).toEqual(['U', 'A', 'A2', 'B', 'C']);
    expect(documents.map((document) => document.file.slice(dir.length + 1))).toEqual([
      'tree/UPPER.YAML',
      'tree/a.yaml',
      'tree/a.yaml',
      'tree/b-nested/x.json',
      'tree/c.yml',
    ]);
  });

  it('reads a file named explicitly whatever its extension, and stdin for -', async () => {
    const documents = await loadManifests([join(dir, 'plain.txt'), '-'], { readStdin: async () => 'kind: S\n' });
    expect(kinds(documents)).toEqual(['P', 'S']);
    expect(documents[1]?.file).toBe('<stdin>');
  });

  it('throws a ManifestError for a missing path', async () => {
    await expect(loadManifests([join(dir, 'missing.yaml')], { readStdin: async () => '' })).rejects.toMatchObject({
      name: 'ManifestError',
      message: `${join(dir, 'missing.yaml')}: no such file or directory`,
    });
  });
});

describe('loadManifests: kustomizations', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'egress-guard-kustomize-'));
    for (const [sub, name] of [
      ['yaml', 'kustomization.yaml'],
      ['yml', 'kustomization.yml'],
      ['capital', 'Kustomization'],
    ] as const) {
      mkdirSync(join(dir, 'repo', sub), { recursive: true });
      writeFileSync(join(dir, 'repo', sub, name), 'resources: [se.yaml]\n');
      writeFileSync(join(dir, 'repo', sub, 'se.yaml'), SE);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['yaml', 'yml', 'capital'])('refuses a directory whose kustomization file is the %s kind', async (sub) => {
    const directory = join(dir, 'repo', sub);
    const error = await loadManifests([directory], { readStdin: async () => '' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).message).toBe(
      `${directory}: holds a kustomization, which check does not render; run: kubectl kustomize ${directory} | egress-guard check -f -`,
    );
  });

  it('refuses one met while walking a parent directory, and one named as a file', async () => {
    await expect(loadManifests([join(dir, 'repo')], { readStdin: async () => '' })).rejects.toThrow(
      `kubectl kustomize ${join(dir, 'repo', 'capital')} |`,
    );
    await expect(
      loadManifests([join(dir, 'repo', 'yml', 'kustomization.yml')], { readStdin: async () => '' }),
    ).rejects.toThrow(`kubectl kustomize ${join(dir, 'repo', 'yml')} |`);
  });

  it('still reads the plain manifest files of such a directory when named one by one', async () => {
    const documents = await loadManifests([join(dir, 'repo', 'yaml', 'se.yaml')], { readStdin: async () => '' });
    expect(documents).toHaveLength(1);
  });
});
