// A Secret volume as the kubelet lays it out and updates it (pkg/volume/util/atomic_writer.go): the files live in
// a `..<timestamp>` directory, `..data` links to it, and each visible name links through `..data`. An update
// writes a new timestamped directory, points a `..data_tmp` link at it, renames that over `..data` (the one
// atomic step), then removes the old directory.
import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class SecretVolume {
  private updates = 0;

  private constructor(readonly dir: string) {}

  static async create(files: Record<string, string>): Promise<SecretVolume> {
    const volume = new SecretVolume(await mkdtemp(join(tmpdir(), 'egress-guard-secret-')));
    await volume.update(files);
    return volume;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async update(files: Record<string, string>): Promise<void> {
    const stamp = new Date().toISOString().replace(/[-T:]/g, '_').replace(/\..*/, '');
    const generation = `..${stamp}.${process.pid}${String(++this.updates).padStart(4, '0')}`;
    await mkdir(join(this.dir, generation), { mode: 0o755 });
    for (const [name, content] of Object.entries(files))
      await writeFile(join(this.dir, generation, name), content, { mode: 0o440 });
    const previous = await readlink(join(this.dir, '..data')).catch(() => undefined);
    await symlink(generation, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      await symlink(join('..data', name), join(this.dir, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    }
    if (previous !== undefined) await rm(join(this.dir, previous), { recursive: true, force: true });
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
