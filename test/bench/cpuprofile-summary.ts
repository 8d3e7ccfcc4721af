// Self time by function from a V8 .cpuprofile (node --cpu-prof), the biggest first.
// Usage: node dist/test/bench/cpuprofile-summary.js FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  percent: number;
}

/** Self time per function (name + file:line), summed over every call path, largest first; idle time left out. */
export function selfTimes(profile: Profile): SelfTime[] {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((node) => [node.id, node]));
  const micros = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample.
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] ?? -1;
    micros.set(id, (micros.get(id) ?? 0) + (deltas[i + 1] ?? 0));
  }
  // Percentages are of the busy time: the idle node (the event loop waiting) is left out of the total.
  const idle = profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id);
  const total = [...micros].reduce((sum, [id, value]) => (idle.includes(id) ? sum : sum + value), 0) || 1;
  const byFunction = new Map<string, SelfTime>();
  for (const [id, us] of micros) {
    const frame = byNode.get(id)?.callFrame;
    if (!frame || idle.includes(id)) continue;
    const where = frame.url ? `${shorten(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = frame.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, ms: 0, percent: 0 };
    entry.ms += us / 1000;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()]
    .map((entry) => ({
      ...entry,
      ms: Math.round(entry.ms * 10) / 10,
      percent: Math.round((entry.ms * 1000 * 1000) / total) / 10,
    }))
    .sort((a, b) => b.ms - a.ms);
}

/** Self time grouped by package (node_modules/<name>), node internals, or our own files. */
export function byArea(times: readonly SelfTime[]): Array<{ area: string; percent: number }> {
  const areas = new Map<string, number>();
  for (const time of times) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(time.where);
    const area =
      match?.[1] ??
      (time.where.startsWith('node:')
        ? 'node:' + (time.where.split(/[/:]/)[1] ?? '')
        : time.where.startsWith('dist/')
          ? 'egress-guard'
          : time.name);
    areas.set(area, (areas.get(area) ?? 0) + time.percent);
  }
  return [...areas]
    .map(([area, percent]) => ({ area, percent: Math.round(percent * 10) / 10 }))
    .sort((a, b) => b.percent - a.percent);
}

function shorten(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) return path.slice(modules);
  const dist = path.indexOf('/dist/');
  return dist >= 0 ? path.slice(dist + 1) : path;
}

export function summarise(file: string, top = 25): string {
  const times = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const lines = times
    .slice(0, top)
    .map(
      (time) =>
        `${time.percent.toFixed(1).padStart(5)}%  ${time.ms.toFixed(0).padStart(7)} ms  ${time.name}  ${time.where}`,
    );
  const areas = byArea(times)
    .slice(0, 12)
    .map(({ area, percent }) => `${percent.toFixed(1).padStart(5)}%  ${area}`);
  return [`self time, top ${top} functions:`, ...lines, '', 'self time by area:', ...areas].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/test/bench/cpuprofile-summary.js FILE.cpuprofile [TOP]\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(`${summarise(file, Number(top ?? 25))}\n`);
  }
}
