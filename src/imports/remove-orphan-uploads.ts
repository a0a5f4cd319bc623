import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';
import { ACTIVE_STATUSES } from '../jobs/job-store.js';
import type { Logger } from '../lib/logger.js';
import type { UploadStorage } from '../storage/upload-storage.js';
import { inArray } from 'drizzle-orm';
import type { ImportJobState } from './job-store.js';
import { uploadKey } from './import-kind.js';

/**
 * An upload no active job names is removed once it is this old: a younger one may still be
 * arriving at another replica (its job row is made once the upload is stored), and a file
 * being written keeps a fresh mtime.
 */
const ORPHAN_UPLOAD_AGE_MS = 10 * 60_000;

/** Removes uploads that no queued or running job names (left by a crash between the upload and its job row, or before a job's end). */
export async function removeOrphanUploads(db: Database, storage: UploadStorage, logger: Logger, now = Date.now()): Promise<number> {
  const active = await db.select({ state: jobs.state }).from(jobs).where(inArray(jobs.status, [...ACTIVE_STATUSES]));
  const named = new Set(active.map((j) => uploadKey(j.state as unknown as ImportJobState)));
  let removed = 0;
  for (const upload of await storage.list()) {
    if (named.has(upload.key) || now - upload.modifiedMs <= ORPHAN_UPLOAD_AGE_MS) continue;
    await storage.remove(upload.key);
    removed += 1;
    logger.info({ upload: upload.key, bytes: upload.bytes }, 'removed an upload no job names');
  }
  return removed;
}
