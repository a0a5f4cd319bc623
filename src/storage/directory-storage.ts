import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, PayloadTooLargeError } from '../lib/errors.js';
import { byteLimit, type StoredUpload, type UploadStorage } from './upload-storage.js';

/**
 * Uploads as files in one directory: the data dir's uploads/ for a single process, or a
 * shared volume (NFS, a Kubernetes ReadWriteMany volume) that every replica mounts.
 */
export class DirectoryStorage implements UploadStorage {
  readonly kind = 'directory';

  constructor(readonly dir: string) {}

  /** The file of an upload (tests, and the directory's own operations). */
  pathOf(key: string): string {
    if (!/^[\w.-]+$/.test(key)) throw new Error(`bug: upload key ${JSON.stringify(key)} is not a plain file name`);
    return join(this.dir, key);
  }

  async put(key: string, body: Readable, opts: { maxBytes: number }): Promise<number> {
    await mkdir(this.dir, { recursive: true });
    const file = this.pathOf(key);
    const limit = byteLimit(opts.maxBytes, () => new PayloadTooLargeError(`uploads are limited to ${opts.maxBytes} bytes`));
    try {
      await pipeline(body, limit.transform, createWriteStream(file));
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }
    return limit.bytes();
  }

  async open(key: string): Promise<AsyncIterable<Uint8Array>> {
    const file = this.pathOf(key);
    if (!(await this.exists(key))) throw new NotFoundError('upload', key);
    return createReadStream(file);
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async exists(key: string): Promise<boolean> {
    return (await stat(this.pathOf(key)).catch(() => undefined)) !== undefined;
  }

  async list(): Promise<StoredUpload[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: StoredUpload[] = [];
    for (const key of names.filter((n) => n.endsWith('.upload'))) {
      const info = await stat(join(this.dir, key)).catch(() => undefined);
      if (info?.isFile()) out.push({ key, bytes: info.size, modifiedMs: info.mtimeMs });
    }
    return out;
  }
}
