import type { CollectionRecord } from '../catalog/collections.js';
import type { DocumentInput } from '../catalog/documents.js';
import type { Database } from '../db/client.js';
import { documentFieldIssues } from '../documents/validate-document-fields.js';
import type { Embedder } from '../embedding/embedder.js';
import { commitIngest, ingestDocuments, prepareIngest, type IngestOutcome, type PreparedIngest } from '../ingest/ingest-documents.js';
import { parseCsv } from '../ingest/parsers/csv.js';
import { parseNdjson } from '../ingest/parsers/ndjson.js';
import type { FieldMapping, ParseOptions, ParsedRecord } from '../ingest/parsers/parsed-record.js';
import { parsePubmedXml } from '../ingest/parsers/pubmed-xml.js';
import { AppError, InvalidInputError } from '../lib/errors.js';

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

export function parserFor(format: ImportFormat, source: AsyncIterable<Uint8Array>, mapping: Partial<FieldMapping>, opts: ParseOptions = {}): AsyncGenerator<ParsedRecord> {
  if (format === 'csv') return parseCsv(source, mapping, opts);
  if (format === 'pubmed') return parsePubmedXml(source, opts);
  return parseNdjson(source, mapping, opts);
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
 * (unchanged documents embed nothing). A record the catalog cannot store (NUL, metadata too
 * deep) is an error record, checked before the write; should a batch write still fail for a
 * per-record reason, its records are written one by one so only the culprit fails (issue 10).
 * Calls onBatch after every committed batch, in record order; the next batch is embedded
 * while one is written.
 * @throws what ingestDocuments throws for reasons not tied to one record (overload, a
 * database that is down, abort), as an AppError whose detail names the records of the batch.
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
  let batch: BatchItem[] = [];
  let errors: ImportError[] = [];
  let lastRecord = progress.cursor;
  const ingestOpts = (items: BatchItem[]) =>
    ({ db: opts.db, embedder: opts.embedder, collection: opts.collection, documents: items.map((b) => b.doc), priority: 'bulk' as const, signal: opts.signal });
  const ingest = (items: BatchItem[]) => ingestDocuments(ingestOpts(items));
  // Two batches in flight: while batch n is written (and its outbox rows queued), batch n+1 is
  // already planned, tokenized and queued for inference, so the engine does not wait on the
  // catalog (issue 14). Commits stay in record order.
  let pending: PendingBatch | undefined;
  const finish = async (p: PendingBatch) => {
    if (p.batch.length > 0) {
      const first = () => p.prepared.then((r) => (r.ok ? commitIngest(opts.db, r.value) : Promise.reject(r.error)));
      const { outcomes, failures } = await ingestBatch(p.batch, { first, each: ingest }, opts.signal);
      for (const o of outcomes) progress[o.status] += 1;
      progress.done += outcomes.length;
      progress.failed += failures.length;
      // Failures found by the fallback go with the batch's other errors, in record order.
      p.errors = [...p.errors, ...failures].sort((a, b) => a.record - b.record);
    }
    progress.cursor = p.cursor;
    await opts.onBatch(progress, p.errors);
  };
  const drain = async () => {
    const p = pending;
    pending = undefined;
    if (p) await finish(p);
  };
  const flush = async () => {
    const ids = new Set(batch.map((b) => b.doc.externalId));
    // A batch repeating an id of the uncommitted one must plan against that one's write
    // (else both would "create" it, or the older text would win): wait for it first.
    if (pending && [...ids].some((id) => pending!.ids.has(id))) await drain();
    const items = batch;
    const next: PendingBatch = { batch: items, errors, cursor: lastRecord, ids, prepared: items.length > 0 ? settle(prepareIngest(ingestOpts(items))) : Promise.resolve({ ok: true, value: undefined as never }) };
    batch = [];
    errors = [];
    await drain();
    pending = next;
  };
  const iterator = opts.records[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<ParsedRecord>;
    try {
      next = await iterator.next();
    } catch (err) {
      // The file cannot be read past here; the records before it still count (issue 10).
      if (!opts.signal?.aborted) {
        await flush();
        await drain();
      }
      throw err;
    }
    if (next.done) break;
    const parsed = next.value;
    opts.signal?.throwIfAborted();
    if (parsed.record <= (opts.startAfter ?? 0)) continue;
    lastRecord = parsed.record;
    const problem = parsed.doc ? recordProblem(parsed.doc) : (parsed.error ?? 'unreadable record');
    if (parsed.doc && problem === undefined) batch.push({ record: parsed.record, doc: parsed.doc });
    else {
      progress.failed += 1;
      errors.push({ record: parsed.record, detail: problem ?? 'unreadable record' });
    }
    if (batch.length >= (opts.batchSize ?? 64) || errors.length >= 256) await flush();
  }
  await flush();
  await drain();
  return progress;
}

interface PendingBatch {
  batch: BatchItem[];
  errors: ImportError[];
  /** The resume point once this batch is committed. */
  cursor: number;
  ids: Set<string>;
  /** Settled, so a batch that fails while an earlier one commits raises no unhandled rejection. */
  prepared: Promise<Settled<PreparedIngest>>;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

const settle = <T>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

interface BatchItem {
  record: number;
  doc: DocumentInput;
}

/** Why the catalog could not store this document, from the checks POST …/documents makes too. */
export function recordProblem(doc: DocumentInput): string | undefined {
  const issues = documentFieldIssues(doc);
  return issues.length === 0 ? undefined : issues.slice(0, 3).map((i) => `${i.pointer} ${i.detail}`).join('; ');
}

/**
 * Ingests a batch in one call; when that fails for a reason one record can cause, ingests
 * the records one by one, so the others are kept and the culprit is reported by number.
 */
async function ingestBatch(
  batch: BatchItem[],
  ingest: { first: () => Promise<IngestOutcome[]>; each: (items: BatchItem[]) => Promise<IngestOutcome[]> },
  signal: AbortSignal | undefined,
): Promise<{ outcomes: IngestOutcome[]; failures: ImportError[] }> {
  const range = batch.length === 1 ? `record ${batch[0]!.record}` : `records ${batch[0]!.record}–${batch.at(-1)!.record}`;
  try {
    return { outcomes: await ingest.first(), failures: [] };
  } catch (err) {
    if (signal?.aborted) throw err;
    if (!isRecordError(err)) throw batchError(err, range);
  }
  const outcomes: IngestOutcome[] = [];
  const failures: ImportError[] = [];
  for (const item of batch) {
    try {
      outcomes.push(...(await ingest.each([item])));
    } catch (err) {
      if (signal?.aborted) throw err;
      if (!isRecordError(err)) throw batchError(err, `record ${item.record}`);
      failures.push({ record: item.record, detail: recordErrorDetail(err) });
    }
  }
  return { outcomes, failures };
}

/**
 * Errors that one record's content can cause: invalid input (the embedder's checks
 * included), and the database's data exceptions (SQLSTATE class 22: bad characters, values
 * out of range) and program limits (class 54: nesting, sizes). Everything else (connections,
 * overload, constraints, a deleted collection) would fail every record the same way.
 */
export function isRecordError(err: unknown): boolean {
  if (err instanceof InvalidInputError) return true;
  const code = sqlState(err);
  return code !== undefined && (code.startsWith('22') || code.startsWith('54'));
}

function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export function recordErrorDetail(err: unknown): string {
  if (err instanceof AppError) return err.detail;
  return `the catalog refused the record (SQLSTATE ${sqlState(err) ?? 'unknown'})`;
}

/**
 * A batch failure not caused by one record: an AppError keeps its code and gains the
 * records in its detail; anything else becomes an ImportBatchError naming them.
 */
function batchError(err: unknown, records: string): unknown {
  if (err instanceof AppError) return new AppError(err.code, `${records}: ${err.detail}`, { cause: err, extensions: err.extensions });
  return new ImportBatchError(records, err);
}

/** An unexpected failure while writing a batch; `records` names it (e.g. "records 65–128"). */
export class ImportBatchError extends Error {
  constructor(
    readonly records: string,
    cause: unknown,
  ) {
    super(`the import failed at ${records}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ImportBatchError';
  }
}
