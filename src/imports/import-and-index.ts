import type { CollectionRecord } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import type { Embedder } from '../embedding/embedder.js';
import type { ParsedRecord } from '../ingest/parsers/parsed-record.js';
import { OutboxWorker } from '../outbox/outbox-worker.js';
import type { VectorIndex } from '../vectors/vector-index.js';
import { importRecords, type ImportError, type ImportProgress } from './import-records.js';

/**
 * Imports records while a private outbox worker applies each committed batch to the index,
 * then drains the outbox: for one-shot runs that own the stores (CLI ingest, evaluations),
 * where no server worker is running. Throws what importRecords throws; the worker is stopped
 * either way, and what it did not apply stays in the outbox.
 */
export async function importAndIndex(opts: {
  db: Database;
  index: VectorIndex;
  embedder: Embedder;
  collection: CollectionRecord;
  records: AsyncIterable<ParsedRecord>;
  signal?: AbortSignal;
  /** After every committed batch, with the records skipped in it. */
  onBatch?: (progress: ImportProgress, errors: ImportError[]) => void;
  drainTimeoutMs?: number;
}): Promise<{ progress: ImportProgress; errors: ImportError[]; outboxPending: number }> {
  const worker = new OutboxWorker({ db: opts.db, index: opts.index });
  const errors: ImportError[] = [];
  worker.start(200);
  let progress: ImportProgress;
  try {
    progress = await importRecords({
      db: opts.db, embedder: opts.embedder, collection: opts.collection, records: opts.records, signal: opts.signal,
      onBatch: async (p, batchErrors) => {
        errors.push(...batchErrors);
        opts.onBatch?.(p, batchErrors);
        worker.notify();
      },
    });
  } finally {
    await worker.stop();
  }
  const outboxPending = await worker.drain(opts.drainTimeoutMs ?? 10 * 60_000);
  return { progress, errors, outboxPending };
}
