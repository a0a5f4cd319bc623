import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, DATABASE_BACKENDS, type TestDatabase } from '../../test/helpers/database.js';
import { collectionConfigFor } from '../app-deps.js';
import { ensureCollectionRecord } from '../catalog/collections.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import { silentLogger } from '../lib/logger.js';
import { DirectoryStorage } from '../storage/directory-storage.js';
import { createImportJob } from './job-store.js';
import { removeOrphanUploads } from './remove-orphan-uploads.js';

describe.each(DATABASE_BACKENDS)('removeOrphanUploads (%s)', (backend) => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await openTestDatabase(backend);
    dir = await mkdtemp(join(tmpdir(), 'biovec-orphans-'));
  });
  afterEach(async () => {
    await db.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('removes only old uploads that no active job names: a named one (whoever holds its job) and a young one stay', async () => {
    const storage = new DirectoryStorage(dir);
    const old = new Date(Date.now() - 3_600_000);
    for (const key of ['named.upload', 'orphan.upload', 'young.upload']) {
      await writeFile(storage.pathOf(key), 'x');
      if (key !== 'young.upload') await utimes(storage.pathOf(key), old, old);
    }
    const embedder = new HashEmbedder(8, 16);
    const collection = await ensureCollectionRecord(db.handle.db, collectionConfigFor(embedder)('c', { distance: 'cosine', chunkOverlap: 0 }));
    await createImportJob(db.handle.db, collection.id, { upload: 'named.upload', format: 'ndjson', mapping: {}, bytes: 1, bytesRead: 0, progress: { cursor: 0 } });
    expect(await removeOrphanUploads(db.handle.db, storage, silentLogger())).toBe(1);
    expect((await storage.list()).map((u) => u.key).sort()).toEqual(['named.upload', 'young.upload']);
  });
});
