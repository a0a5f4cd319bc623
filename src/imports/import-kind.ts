import { basename } from 'node:path';
import { getCollectionById, type CollectionRecord } from '../catalog/collections.js';
import { planDocuments, VersionChangedError, type DocumentInput } from '../catalog/documents.js';
import type { Database } from '../db/client.js';
import type { Embedder } from '../embedding/embedder.js';
import { commitIngest, prepareIngest, type IngestOutcome, type PreparedIngest } from '../ingest/ingest-documents.js';
import { JobFailedError, JobInactiveError, LeaseLostError } from '../jobs/job-errors.js';
import type { BatchContext, BatchOutcome, BatchRow, JobKind, JobRow, PlanContext } from '../jobs/job-kind.js';
import { idsWrittenLater, storable } from '../jobs/job-store.js';
import { AppError } from '../lib/errors.js';
import type { UploadStorage } from '../storage/upload-storage.js';
import { ImportBatchError, isRecordError, parserFor, recordErrorDetail, recordProblem, type ImportError } from './import-records.js';
import type { ImportJobState } from './job-store.js';

/**
 * A job that crashed the process this many starts in a row without its cursor moving is
 * failed instead of started again: whatever input kills the process must not do it on every
 * restart (issue 10). Clean shutdowns do not count.
 */
const MAX_STALLED_STARTS = 2;
/** A batch whose plan another commit made stale is prepared again at most this often. */
const MAX_REPLANS = 5;

interface BatchItem {
  record: number;
  doc: DocumentInput;
}

/** What an import batch carries: parsed records, and the error records of the same span. */
export interface ImportBatchPayload {
  records: BatchItem[];
  errors: ImportError[];
}

/**
 * JobKind 'import'. The job holder streams the upload from shared storage and appends batches
 * of parsed records (a crash resumes after the last record batched: state.progress.cursor);
 * any worker embeds a batch and writes it through ctx.commit. Where an id repeats in a later
 * batch, the later record wins whatever order batches finish in: a batch skips the ids a
 * later batch already wrote, and commits (serialised per job) re-check the plan they embedded
 * against, so an earlier batch committing in between makes it plan again.
 */
export class ImportKind implements JobKind {
  readonly kind = 'import';

  constructor(private readonly opts: { storage: UploadStorage; maxRecordBytes?: number; batchSize?: number }) {}

  async plan(job: JobRow, ctx: PlanContext): Promise<void> {
    const state = job.state as unknown as ImportJobState;
    const cursor = state.progress?.cursor ?? 0;
    const isStalled = !state.wasStoppedCleanly && state.lastStartCursor === cursor;
    const stalledStarts = isStalled ? (state.stalledStarts ?? 0) + 1 : 0;
    if (stalledStarts >= MAX_STALLED_STARTS) {
      ctx.logger.error({ jobId: job.id, cursor }, 'import failed: crashed repeatedly at the same record');
      throw new JobFailedError(`the import stopped the server ${stalledStarts} times in a row after record ${cursor}; it is not resumed again`);
    }
    await ctx.saveState({ lastStartCursor: cursor, stalledStarts, wasStoppedCleanly: false, startedAt: state.startedAt ?? new Date().toISOString() });
    const source = await this.opts.storage.open(uploadKey(state));
    let bytesRead = 0;
    const counted = (async function* () {
      for await (const chunk of source) {
        bytesRead += chunk.length;
        yield chunk;
      }
    })();
    let items: BatchItem[] = [];
    let errors: ImportError[] = [];
    let last = cursor;
    let planned = state.plannedRecords ?? 0;
    const flush = async () => {
      if (items.length + errors.length === 0) return;
      planned += items.length + errors.length;
      const payload: ImportBatchPayload = { records: items, errors };
      const batch = { payload: payload as unknown as Record<string, unknown>, externalIds: [...new Set(items.map((i) => i.doc.externalId))], records: items.length + errors.length };
      items = [];
      errors = [];
      await ctx.addBatches([batch], { progress: { cursor: last }, bytesRead, plannedRecords: planned });
    };
    try {
      for await (const parsed of parserFor(state.format, counted, state.mapping, { maxRecordBytes: this.opts.maxRecordBytes })) {
        ctx.signal.throwIfAborted();
        if (parsed.record <= cursor) continue;
        last = parsed.record;
        const problem = parsed.doc ? recordProblem(parsed.doc) : (parsed.error ?? 'unreadable record');
        if (parsed.doc && problem === undefined) items.push({ record: parsed.record, doc: parsed.doc });
        else errors.push({ record: parsed.record, detail: storable(problem ?? 'unreadable record') });
        if (items.length >= (this.opts.batchSize ?? 64) || errors.length >= 256) await flush();
      }
    } catch (err) {
      if (ctx.signal.aborted || err instanceof LeaseLostError || err instanceof JobInactiveError) throw err;
      // The file cannot be read past here; the records before it still count (issue 10).
      await flush();
      throw new JobFailedError(err instanceof AppError ? err.detail : 'the upload could not be read; see the server log', { afterBatches: true });
    }
    await flush();
    await ctx.saveState({ bytesRead: state.bytes });
  }

  async processBatch(batch: BatchRow, job: JobRow, ctx: BatchContext): Promise<void> {
    const load = async () => {
      const found = job.collectionId === null ? undefined : await getCollectionById(ctx.db, job.collectionId);
      if (!found) throw new JobInactiveError(job.id);
      return { collection: found, embedder: await ctx.embedders.forBinding(found) };
    };
    let { collection, embedder } = await load();
    const payload = batch.payload as unknown as ImportBatchPayload;
    for (let replans = 0; ; replans += 1) {
      const later = await idsWrittenLater(ctx.db, batch, batch.externalIds);
      const items = payload.records.filter((r) => !later.has(r.doc.externalId));
      const prepared = await prepareItems(items, { db: ctx.db, embedder, collection, signal: ctx.signal });
      try {
        await ctx.commit(outcomeOf(payload, prepared, []), async (tx) => {
          // Under the job lock now: ids a later batch wrote meanwhile are left to it.
          const laterNow = await idsWrittenLater(tx, batch, batch.externalIds);
          const parts = prepared.parts.map((p) => ({ items: p.items.filter((i) => !laterNow.has(i.doc.externalId)), prepared: without(p.prepared, laterNow) }));
          if (await isStale(tx, collection, parts)) throw new StalePlanError();
          const failures = [...prepared.failures];
          const outcomes: IngestOutcome[] = [];
          for (const part of parts) outcomes.push(...(await writePart(tx, part, failures)));
          return outcomeOf(payload, { parts: [], failures }, outcomes);
        });
        return;
      } catch (err) {
        const isVersionSwitch = err instanceof VersionChangedError;
        if (!(err instanceof StalePlanError || isVersionSwitch) || replans >= MAX_REPLANS) throw err;
        // The collection switched to another version (model) meanwhile: embed with that one.
        if (isVersionSwitch) ({ collection, embedder } = await load());
      }
    }
  }

  async cleanup(job: JobRow): Promise<void> {
    await this.opts.storage.remove(uploadKey(job.state as unknown as ImportJobState));
  }

  describeFailure(err: unknown): string {
    if (err instanceof AppError) return err.detail;
    if (err instanceof ImportBatchError) return `the import failed at ${err.records}; see the server log`;
    return 'the import failed; see the server log';
  }
}

/** Jobs made before uploads had storage keys named the file in the data dir's uploads/. */
export function uploadKey(state: ImportJobState): string {
  return state.upload ?? basename(state.file ?? '');
}

class StalePlanError extends Error {}

interface PreparedItems {
  parts: { items: BatchItem[]; prepared: PreparedIngest }[];
  failures: ImportError[];
}

/**
 * Plans and embeds the batch in one go; where that fails for a reason one record can cause,
 * record by record, so the others are kept and the culprit is reported by number.
 */
async function prepareItems(items: BatchItem[], opts: { db: Database; embedder: Embedder; collection: CollectionRecord; signal: AbortSignal }): Promise<PreparedItems> {
  if (items.length === 0) return { parts: [], failures: [] };
  const prepare = (batch: BatchItem[]) => prepareIngest({ db: opts.db, embedder: opts.embedder, collection: opts.collection, documents: batch.map((b) => b.doc), priority: 'bulk', signal: opts.signal });
  try {
    return { parts: [{ items, prepared: await prepare(items) }], failures: [] };
  } catch (err) {
    if (opts.signal.aborted || !isRecordError(err)) throw batchError(err, rangeOf(items));
  }
  const parts: PreparedItems['parts'] = [];
  const failures: ImportError[] = [];
  for (const item of items) {
    try {
      parts.push({ items: [item], prepared: await prepare([item]) });
    } catch (err) {
      if (opts.signal.aborted || !isRecordError(err)) throw batchError(err, `record ${item.record}`);
      failures.push({ record: item.record, detail: recordErrorDetail(err) });
    }
  }
  return { parts, failures };
}

/** Writes a prepared part in a savepoint; a write the catalog refuses for one record's sake is retried record by record. */
async function writePart(tx: Database, part: { items: BatchItem[]; prepared: PreparedIngest }, failures: ImportError[]): Promise<IngestOutcome[]> {
  if (part.items.length === 0) return [];
  try {
    return await commitIngest(tx, part.prepared);
  } catch (err) {
    if (!isRecordError(err)) throw batchError(err, rangeOf(part.items));
  }
  const outcomes: IngestOutcome[] = [];
  for (const item of part.items) {
    const one = only(part.prepared, item.doc.externalId);
    try {
      outcomes.push(...(await commitIngest(tx, one)));
    } catch (err) {
      if (!isRecordError(err)) throw batchError(err, `record ${item.record}`);
      failures.push({ record: item.record, detail: recordErrorDetail(err) });
    }
  }
  return outcomes;
}

/**
 * Whether the catalog changed, since the batch was planned, in a way its writes would get
 * wrong: a document it leaves alone (or only re-labels) now has other stored text, or one it
 * leaves alone other metadata. Writes of text are upserts, right whatever happened meanwhile.
 */
async function isStale(tx: Database, collection: CollectionRecord, parts: { items: BatchItem[]; prepared: PreparedIngest }[]): Promise<boolean> {
  const actionOf = new Map<string, string>();
  for (const p of parts) for (const w of p.prepared.writes) actionOf.set(w.input.externalId, w.action);
  // The last occurrence of an id in a batch is the one prepared.
  const docs = new Map(parts.flatMap((p) => p.items.map((i) => [i.doc.externalId, i.doc] as const)));
  if (docs.size === 0) return false;
  for (const f of await planDocuments(tx, collection, [...docs.values()])) {
    const before = actionOf.get(f.input.externalId) ?? 'unchanged';
    const isEmbedded = before === 'create' || before === 'content';
    if ((f.action === 'create' || f.action === 'content') && !isEmbedded) return true;
    if (f.action === 'metadata' && before === 'unchanged') return true;
  }
  return false;
}

function without(prepared: PreparedIngest, ids: Set<string>): PreparedIngest {
  if (ids.size === 0) return prepared;
  return { ...prepared, writes: prepared.writes.filter((w) => !ids.has(w.input.externalId)), outcomes: prepared.outcomes.filter((o) => !ids.has(o.externalId)) };
}

function only(prepared: PreparedIngest, id: string): PreparedIngest {
  return { ...prepared, writes: prepared.writes.filter((w) => w.input.externalId === id), outcomes: prepared.outcomes.filter((o) => o.externalId === id) };
}

function outcomeOf(payload: ImportBatchPayload, prepared: PreparedItems, outcomes: IngestOutcome[]): BatchOutcome {
  const failures = [...payload.errors, ...prepared.failures].sort((a, b) => a.record - b.record);
  const counts = { created: 0, updated: 0, unchanged: 0 };
  for (const o of outcomes) counts[o.status] += 1;
  // Records a later batch of the same id superseded count as done: the later record stands for them.
  const done = payload.records.length - prepared.failures.length;
  return { done, failed: failures.length, errors: failures, counts };
}

const rangeOf = (items: BatchItem[]) => (items.length === 1 ? `record ${items[0]!.record}` : `records ${items[0]!.record}–${items.at(-1)!.record}`);

/** A batch failure not caused by one record: an AppError keeps its code and gains the records in its detail. */
function batchError(err: unknown, records: string): unknown {
  if (err instanceof JobInactiveError || err instanceof LeaseLostError || err instanceof StalePlanError || err instanceof VersionChangedError) return err;
  if (err instanceof AppError) return new AppError(err.code, `${records}: ${err.detail}`, { cause: err, extensions: err.extensions });
  return new ImportBatchError(records, err);
}
