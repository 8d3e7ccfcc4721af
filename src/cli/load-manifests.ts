// Reads manifests for `egress-guard check`: files, directories (recursively: *.yaml, *.yml, *.json) and `-`
// for stdin, each a stream of YAML or JSON documents. Every document keeps its file and line, and can find the
// line of any field inside it, so findings point where the user has to edit.
//
// parseManifests is pure (text in, documents out); loadManifests is the only part that touches the file system.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';

/** A field path inside an object: keys and list indexes, e.g. ['spec', 'hosts', 1]. */
export type FieldPath = readonly (string | number)[];

export interface ManifestDocument {
  /** The path as the user gave it (joined with the directory for files found inside one), or `<stdin>`. */
  file: string;
  /** 1-based position of the document in its file. */
  index: number;
  /** 1-based line where the document's content starts. */
  line: number;
  /** The document as plain data (JSON-compatible, YAML anchors and merge keys resolved). */
  content: unknown;
  /** The line of the node at `path`, or of its nearest ancestor present in the document. */
  lineAt(path: FieldPath): number;
}

/** A file that cannot be read or parsed; main turns it into exit status 2. */
export class ManifestError extends Error {
  override name = 'ManifestError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly problem: string,
  ) {
    super(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
  }
}

export const STDIN_NAME = '<stdin>';
const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;
/** The file names kustomize looks for in a directory. */
const KUSTOMIZATION_FILES: ReadonlySet<string> = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

// kubectl reads manifests with go-yaml v2 (YAML 1.1: `yes` and `on` are booleans, `<<` merges), so do the same.
const PARSE_OPTIONS = { version: '1.1', merge: true } as const;

/** yaml's messages end with " at line N, column M:" and a source excerpt; the location is reported separately. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim();
}

/** All documents of one file; empty documents (a stray `---`, only comments) are skipped, as kubectl does. */
export function parseManifests(text: string, file: string): ManifestDocument[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter, prettyErrors: true });
  // An empty stream comes back as a single empty marker object, not an array.
  if (!Array.isArray(parsed)) return [];
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  const documents: ManifestDocument[] = [];
  let index = 0;
  for (const document of parsed) {
    index++;
    const error = document.errors[0];
    if (error) {
      // A JSON file that yaml cannot read (JSON is almost, not quite, YAML) may still be valid JSON.
      const json = parsed.length === 1 ? tryJson(text) : undefined;
      if (json !== undefined) return json === null ? [] : [jsonDocument(json, file)];
      throw new ManifestError(file, error.linePos?.[0]?.line ?? lineOf(error.pos[0]), firstLine(error.message));
    }
    let content: unknown;
    try {
      content = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      throw new ManifestError(file, lineOf(document.range[0]), firstLine((error as Error).message));
    }
    if (content === null || content === undefined) continue;
    const start = document.contents?.range[0] ?? document.range[0];
    documents.push({
      file,
      index,
      line: lineOf(start),
      content,
      lineAt: (path) => lineOf(nodeOffset(document, path) ?? start),
    });
  }
  return documents;
}

/** Offset of the deepest node along `path` that exists. */
function nodeOffset(document: Document, path: FieldPath): number | undefined {
  for (let length = path.length; length > 0; length--) {
    const node: unknown = document.getIn(path.slice(0, length), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return range[0];
  }
  return undefined;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function jsonDocument(content: unknown, file: string): ManifestDocument {
  return { file, index: 1, line: 1, content, lineAt: () => 1 };
}

export interface LoadIo {
  readStdin(): Promise<string>;
}

/**
 * Reads every source in order. A directory contributes its manifest files sorted by path, recursively;
 * a file named explicitly is read whatever its extension, as kubectl does. Throws ManifestError.
 */
export async function loadManifests(sources: readonly string[], io: LoadIo): Promise<ManifestDocument[]> {
  const documents: ManifestDocument[] = [];
  for (const source of sources) {
    if (source === '-') {
      documents.push(...parseManifests(await io.readStdin(), STDIN_NAME));
      continue;
    }
    for (const file of await manifestFiles(source)) documents.push(...parseManifests(await readText(file), file));
  }
  return documents;
}

async function manifestFiles(source: string): Promise<string[]> {
  const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
    throw new ManifestError(source, undefined, describeFsError(error));
  });
  if (!info.isDirectory()) {
    if (KUSTOMIZATION_FILES.has(basename(source))) throw kustomizationError(dirname(source));
    return [source];
  }
  const files: string[] = [];
  await walk(source, new Set([await realpath(source)]), files);
  return files;
}

/** Depth-first in name order; `seen` holds real paths, so a symlink loop is walked once. */
async function walk(directory: string, seen: Set<string>, files: string[]): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new ManifestError(directory, undefined, describeFsError(error));
  });
  // Its raw files are not what gets applied: the overlay's patches (which may add a deny) would be missed.
  if (entries.some((entry) => KUSTOMIZATION_FILES.has(entry.name))) throw kustomizationError(directory);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(directory, entry.name);
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(path).catch(() => undefined);
      isDirectory = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDirectory) {
      const real = await realpath(path);
      if (seen.has(real)) continue;
      seen.add(real);
      await walk(path, seen, files);
    } else if (isFile && MANIFEST_EXTENSIONS.test(entry.name)) {
      files.push(path);
    }
  }
}

function kustomizationError(directory: string): ManifestError {
  return new ManifestError(
    directory,
    undefined,
    `holds a kustomization, which check does not render; run: kubectl kustomize ${directory} | egress-guard check -f -`,
  );
}

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ManifestError(file, undefined, describeFsError(error));
  });
}

function describeFsError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return error.message;
  }
}
