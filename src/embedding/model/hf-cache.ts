import { mkdir, readFile, rename, rm, symlink, writeFile, access, readlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

/**
 * The huggingface_hub cache layout (`models--org--name/{blobs,snapshots,refs}`), so a model
 * fetched by Python is reused here and one fetched here is reused by Python.
 */
export class HfCache {
  constructor(readonly root: string) {}

  repoDir(repoId: string): string {
    return join(this.root, `models--${repoId.replaceAll('/', '--')}`);
  }

  snapshotDir(repoId: string, commit: string): string {
    return join(this.repoDir(repoId), 'snapshots', commit);
  }

  blobPath(repoId: string, etag: string): string {
    return join(this.repoDir(repoId), 'blobs', etag);
  }

  /** The commit a branch or tag pointed at when last fetched; a commit hash maps to itself. */
  async resolveRevision(repoId: string, revision: string): Promise<string | undefined> {
    if (/^[0-9a-f]{40}$/.test(revision)) return revision;
    try {
      return (await readFile(join(this.repoDir(repoId), 'refs', revision), 'utf8')).trim();
    } catch {
      return undefined;
    }
  }

  async writeRef(repoId: string, revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    const path = join(this.repoDir(repoId), 'refs', revision);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, commit);
  }

  async hasFile(repoId: string, commit: string, file: string): Promise<boolean> {
    return access(join(this.snapshotDir(repoId, commit), file)).then(() => true, () => false);
  }

  /** Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, as huggingface_hub does. */
  async linkSnapshot(repoId: string, commit: string, file: string, etag: string): Promise<void> {
    const link = join(this.snapshotDir(repoId, commit), file);
    const target = relative(dirname(link), this.blobPath(repoId, etag));
    await mkdir(dirname(link), { recursive: true });
    const current = await readlink(link).catch(() => undefined);
    if (current === target) return;
    await rm(link, { force: true });
    await symlink(target, link);
  }

  /** Records that a file does not exist at a commit, so offline resolution does not look for it. */
  async markMissing(repoId: string, commit: string, file: string): Promise<void> {
    const path = join(this.repoDir(repoId), '.no_exist', commit, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, '');
  }

  async commitBlob(partial: string, repoId: string, etag: string): Promise<void> {
    await mkdir(dirname(this.blobPath(repoId, etag)), { recursive: true });
    await rename(partial, this.blobPath(repoId, etag));
  }
}
