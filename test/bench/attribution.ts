// Which JavaScript functions a callgrind count went to (`INSTR_BY_FUNCTION=1 npm run bench:instructions`).
// callgrind names native code (V8's C++, its builtins, OpenSSL) but sees JIT code as bare addresses; node's
// --perf-basic-prof writes /tmp/perf-<pid>.map, one `start size name` line per piece of code V8 generates, and with
// callgrind's --separate-callers each cost carries its callers. A builtin, a runtime call or an IC is charged to the
// nearest JavaScript function above it, so "KeyedLoadIC_Megamorphic called from field()" counts as field().
// This is how the ServiceEntry view's megamorphic field() reads and the fastify logger's per-request listeners were
// found: a difference per function between egress-guard and the floor, per review.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** valgrind options that give each cost its callers, and the node flag that names the JIT code. */
export const ATTRIBUTION_VALGRIND_OPTIONS = ['--separate-callers=3'];
export const ATTRIBUTION_NODE_OPTIONS = ['--perf-basic-prof'];

export function perfMapFile(pid: number): string {
  return `/tmp/perf-${pid}.map`;
}

interface CodeRange {
  start: number;
  end: number;
  name: string;
  /** Position in the map file: a later entry for the same addresses is newer code. */
  order: number;
}

/** Looks up the JavaScript function at a code address; code is moved and replaced, so the newest entry wins. */
class CodeMap {
  private readonly ranges: CodeRange[];
  private readonly cache = new Map<number, string | undefined>();

  constructor(text: string) {
    this.ranges = text
      .split('\n')
      .map((line, order) => {
        const [start = '', size = '', ...name] = line.split(' ');
        return {
          start: parseInt(start, 16),
          end: parseInt(start, 16) + parseInt(size, 16),
          name: name.join(' '),
          order,
        };
      })
      .filter((range) => Number.isFinite(range.end) && range.name !== '')
      .sort((a, b) => a.start - b.start || a.order - b.order);
  }

  nameAt(address: number): string | undefined {
    if (this.cache.has(address)) return this.cache.get(address);
    let best: CodeRange | undefined;
    // Ranges starting at or before the address, nearest first; a piece of JIT code is a few KiB at most.
    for (
      let index = this.lastStartingAtOrBefore(address);
      index >= 0 && address - (this.ranges[index]?.start ?? 0) < 1 << 20;
      index--
    ) {
      const range = this.ranges[index] as CodeRange;
      if (address < range.end && (best === undefined || range.order > best.order)) best = range;
    }
    const name = best?.name.replace(/^JS:[*~^+]?/, '');
    this.cache.set(address, name);
    return name;
  }

  private lastStartingAtOrBefore(address: number): number {
    let low = 0;
    let high = this.ranges.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.ranges[middle] as CodeRange).start <= address) low = middle + 1;
      else high = middle - 1;
    }
    return high;
  }
}

/** What a cost with no JavaScript caller within reach is charged to, so the rest groups by what it is. */
function nativeGroup(symbol: string): string {
  if (/compiler::|maglev|Maglev|baseline::/.test(symbol)) return '[compiling]';
  if (/Scaveng|Heap::|MarkCompact|Sweeper|Marking|Evacuat|MemoryAllocator/.test(symbol)) return '[garbage collection]';
  if (/JsonParser/.test(symbol)) return '[JSON.parse]';
  if (/ssl|SSL|aes|gcm|sha\d|x25519|EVP_|CRYPTO_|ossl|OSSL/.test(symbol)) return '[TLS]';
  return `[native] ${symbol.replace(/v8::internal::|Builtins_/g, '').slice(0, 80)}`;
}

/**
 * Instructions per request by JavaScript function (or native group) in one callgrind dump, from
 * callgrind_annotate's per-function listing of a run made with ATTRIBUTION_VALGRIND_OPTIONS.
 */
export function instructionsByFunction(dumpFile: string, perfMap: string, requests: number): Map<string, number> {
  const listing = spawnSync('callgrind_annotate', ['--threshold=100', dumpFile], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (listing.status !== 0) throw new Error(`callgrind_annotate ${dumpFile} failed: ${listing.stderr}`);
  return attributeListing(listing.stdout, readFileSync(perfMap, 'utf8'), requests);
}

/** instructionsByFunction on text already read: callgrind_annotate's output and the perf map's. */
export function attributeListing(listing: string, perfMap: string, requests: number): Map<string, number> {
  const code = new CodeMap(perfMap);
  const totals = new Map<string, number>();
  const lines = listing.split('\n');
  for (const line of lines.slice(lines.findIndex((text) => text.includes('file:function')) + 1)) {
    // `  1,234 ( 0.12%)  ???:callee'caller'caller's caller [object]`
    const match = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+[^:]*:(.*?)(?: \[[^\]]*\])?$/.exec(line);
    if (!match) continue;
    const frames = (match[2] as string).split("'");
    let owner: string | undefined;
    for (const frame of frames) {
      const address = /^0x([0-9a-f]{8,})$/.exec(frame)?.[1];
      if (address !== undefined) {
        owner = code.nameAt(parseInt(address, 16)) ?? `[unnamed code] ${frame}`;
        break;
      }
    }
    owner ??= nativeGroup(frames[0] as string);
    totals.set(owner, (totals.get(owner) ?? 0) + Number((match[1] as string).replaceAll(',', '')) / requests);
  }
  return totals;
}

/** How largestDifferences prints its figures: callgrind's in whole instructions, perf-samples.ts's in microseconds. */
export interface FigureUnit {
  name: string;
  digits: number;
}

const INSTRUCTIONS: FigureUnit = { name: 'instructions per review', digits: 0 };

/** The functions where `ours` spends the most more than `floor`, per request, as printable lines. */
export function largestDifferences(
  ours: Map<string, number>,
  floor: Map<string, number>,
  count: number,
  unit: FigureUnit = INSTRUCTIONS,
): string[] {
  const names = new Set([...ours.keys(), ...floor.keys()]);
  const rows = [...names].map((name) => ({ name, ours: ours.get(name) ?? 0, floor: floor.get(name) ?? 0 }));
  rows.sort((a, b) => b.ours - b.floor - (a.ours - a.floor));
  const shown = [
    ...rows.slice(0, count),
    ...rows.slice(Math.max(count, rows.length - 3)).filter((row) => row.ours < row.floor),
  ];
  const cell = (value: number) =>
    value.toLocaleString('en', { minimumFractionDigits: unit.digits, maximumFractionDigits: unit.digits }).padStart(8);
  return [
    `${'more'.padStart(8)} ${'egress'.padStart(8)} ${'floor'.padStart(8)}  function (${unit.name})`,
    ...shown.map(
      (row) =>
        `${cell(row.ours - row.floor)} ${cell(row.ours)} ${cell(row.floor)}  ${row.name.replace(/file:\/\/\S*?\/dist\//, '')}`,
    ),
  ];
}
