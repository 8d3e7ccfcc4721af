// The package's version, for egress_guard_build_info and `egress-guard --version`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'egress-guard';

/** The version in the nearest package.json named egress-guard above this file (src/ or dist/src/); 'unknown' if none. */
export function packageVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let directory = from; ;) {
    const candidate = join(directory, 'package.json');
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === NAME && manifest.version) return manifest.version;
    }
    const parent = dirname(directory);
    if (parent === directory) return 'unknown';
    directory = parent;
  }
}
