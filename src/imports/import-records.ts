import type { CollectionRecord } from '../catalog/collections.js';
import type { DocumentInput } from '../catalog/documents.js';
import type { Database } from '../db/client.js';
import type { Embedder } from '../embedding/embedder.js';
import { ingestDocuments } from '../ingest/ingest-documents.js';
import { parseCsv } from '../ingest/parsers/csv.js';
import { parseNdjson } from '../ingest/parsers/ndjson.js';
import type { FieldMapping, ParsedRecord } from '../ingest/parsers/parsed-record.js';
import { parsePubmedXml } from '../ingest/parsers/pubmed-xml.js';

export type ImportFormat = 'ndjson' | 'csv' | 'pubmed';

export interface ImportProgress {
  /** Documents ingested (created, updated or unchanged). */
  done: number;
  failed: number;
  /** Highest record number fully handled: the resume point. */
  cursor: number;
  created: number;
  updated: number;
  unchanged: number;
}

export interface ImportError {
  record: number;
  detail: string;
}

export function parserFor(format: ImportFormat, source: AsyncIterable<Uint8Array>, mapping: Partial<FieldMapping>): AsyncGenerator<ParsedRecord> {
  if (format === 'csv') return parseCsv(source, mapping);
  if (format === 'pubmed') return parsePubmedXml(source);
  return parseNdjson(source, mapping);
}

/** Guesses the format from a content type or file name. */
export function detectFormat(hint: string): ImportFormat | undefined {
  if (/xml/i.test(hint)) return 'pubmed';
  if (/csv/i.test(hint)) return 'csv';
  if (/ndjson|jsonl|x-json-stream|\.json(\.gz)?$/i.test(hint)) return 'ndjson';
  return undefined;
}

/**
 * Parses records and ingests them in batches through the normal pipeline. Records at or
 * below `startAfter` are skipped (resuming a job); re-ingesting one is harmless anyway
 * (unchanged documents embed nothing). Calls onBatch after every committed batch.
 */
export async function importRecords(opts: {
  db: Database;
  embedder: Embedder;
  collection: CollectionRecord;
  records: AsyncIterable<ParsedRecord>;
  startAfter?: number;
  batchSize?: number;
  progress?: ImportProgress;
  signal?: AbortSignal;
  onBatch: (progress: ImportProgress, errors: ImportError[]) => Promise<void>;
}): Promise<ImportProgress> {
  const progress: ImportProgress = opts.progress ?? { done: 0, failed: 0, cursor: 0, created: 0, updated: 0, unchanged: 0 };
  let batch: { record: number; doc: DocumentInput }[] = [];
  let errors: ImportError[] = [];
  let lastRecord = progress.cursor;
  const flush = async () => {
    if (batch.length > 0) {
      const outcomes = await ingestDocuments({ db: opts.db, embedder: opts.embedder, collection: opts.collection, documents: batch.map((b) => b.doc), priority: 'bulk', signal: opts.signal });
      for (const o of outcomes) progress[o.status] += 1;
      progress.done += outcomes.length;
    }
    progress.cursor = lastRecord;
    await opts.onBatch(progress, errors);
    batch = [];
    errors = [];
  };
  for await (const parsed of opts.records) {
    opts.signal?.throwIfAborted();
    if (parsed.record <= (opts.startAfter ?? 0)) continue;
    lastRecord = parsed.record;
    if (parsed.doc) batch.push({ record: parsed.record, doc: parsed.doc });
    else {
      progress.failed += 1;
      errors.push({ record: parsed.record, detail: parsed.error ?? 'unreadable record' });
    }
    if (batch.length >= (opts.batchSize ?? 64) || errors.length >= 256) await flush();
  }
  await flush();
  return progress;
}
