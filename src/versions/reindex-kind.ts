import { and, eq, inArray, sql } from 'drizzle-orm';
import { atVersion, findVersion, staleDocumentIds, type VersionRecord } from '../catalog/collection-versions.js';
import { getCollectionById, type CollectionRecord } from '../catalog/collections.js';
import { replaceChunks, type ChunkRow } from '../catalog/documents.js';
import type { Database } from '../db/client.js';
import { chunks, collectionVersions, documents, outbox } from '../db/schema.js';
import { embeddedText } from '../ingest/ingest-documents.js';
import { JobFailedError } from '../jobs/job-errors.js';
import type { BatchContext, BatchRow, JobKind, JobRow, NewBatch, PlanContext } from '../jobs/job-kind.js';
import type { Logger } from '../lib/logger.js';
import { switchTo } from './version-switch.js';

export const REINDEX_KIND = 'reindex';

/** What a re-index job keeps in jobs.state besides the queue's own keys. */
export interface ReindexState {
  /** The collection version it fills. */
  version: number;
  /** 'reindex': fill a new version, then switch to it; 'catch-up': re-embed what changed in a version already current. */
  mode: 'reindex' | 'catch-up';
  /** Planning's keyset cursor: the last document id put in a batch. */
  cursor?: number;
  /** Catch-up rounds run by complete() (documents changed while the version was filled). */
  rounds?: number;
  plannedRecords?: number;
}

export interface ReindexKindOptions {
  db: Database;
  logger: Logger;
  /** Documents per batch (one batch is one claim, one embedding call and one transaction). */
  batchDocuments?: number;
  /** complete() gives up after this many catch-up rounds that still left documents stale. */
  maxCatchUpRounds?: number;
  /** After a switch (the server wakes its outbox worker, so the alias moves at once). */
  onSwitch?: (collection: string, version: number) => void;
}

/**
 * Re-embeds a collection's documents into one of its versions with that version's model. The
 * plan pages through the documents stale at that version (for a new version: all of them) by
 * keyset; each batch embeds its documents and writes that version's chunks and outbox rows
 * through ctx.commit; complete() re-embeds what changed meanwhile until nothing is stale,
 * then switches the collection to the version in one transaction.
 */
export function createReindexKind(opts: ReindexKindOptions): JobKind {
  const batchDocuments = Math.max(1, opts.batchDocuments ?? 64);
  const maxRounds = opts.maxCatchUpRounds ?? 20;

  /** Batches of the documents stale at the version after `cursor`, handed over page by page. */
  async function addStale(job: JobRow, add: PlanContext['addBatches'], target: { collectionId: number; version: number }, from: number, extraState: Partial<ReindexState> = {}): Promise<number> {
    let cursor = from;
    let queued = 0;
    // plannedRecords: the records batched so far, what the job view's progress is measured against.
    const plannedBefore = (job.state as unknown as ReindexState).plannedRecords ?? 0;
    for (;;) {
      const ids = await staleDocumentIds(opts.db, { ...target, afterId: cursor, limit: batchDocuments * 8 });
      if (ids.length === 0) return queued;
      const batches: NewBatch[] = [];
      for (let i = 0; i < ids.length; i += batchDocuments) {
        const group = ids.slice(i, i + batchDocuments);
        batches.push({ payload: { documentIds: group }, externalIds: [], records: group.length });
      }
      cursor = ids[ids.length - 1]!;
      queued += ids.length;
      await add(batches, { ...extraState, cursor, plannedRecords: plannedBefore + queued });
    }
  }

  return {
    kind: REINDEX_KIND,

    async plan(job, ctx) {
      const state = job.state as unknown as ReindexState;
      if (job.collectionId === null) return;
      await addStale(job, ctx.addBatches, { collectionId: job.collectionId, version: state.version }, state.cursor ?? 0);
    },

    async processBatch(batch, job, ctx) {
      await reindexBatch(batch, job, ctx);
    },

    async complete(job, ctx) {
      const state = job.state as unknown as ReindexState;
      if (job.collectionId === null) return 'done';
      const target = { collectionId: job.collectionId, version: state.version };
      const rounds = state.rounds ?? 0;
      // Documents written (or added) while batches ran are stale at the version: another round.
      const queued = await addStale(job, ctx.addBatches, target, 0, { rounds: rounds + 1 });
      if (queued > 0) {
        if (rounds >= maxRounds) throw new JobFailedError(`${queued} documents were still stale at version ${state.version} after ${rounds} catch-up rounds (a document that cannot be embedded, or one rewritten faster than it is re-embedded)`);
        return 'more';
      }
      if (state.mode === 'catch-up') return 'done';
      const switched = await switchTo(opts.db, { collectionId: job.collectionId, version: state.version, requireFresh: true });
      if (switched === 'stale') return 'more'; // a write slipped in between: complete() runs again once it is re-embedded
      ctx.logger.info({ collectionId: job.collectionId, version: state.version }, 'switched the collection to its re-indexed version');
      if (switched !== 'gone') opts.onSwitch?.(switched.name, state.version);
      return 'done';
    },

    async cleanup(job) {
      if (job.status === 'completed') return;
      // A re-index that failed or was cancelled leaves its version unusable for a switch.
      await opts.db
        .update(collectionVersions)
        .set({ status: 'failed' })
        .where(and(eq(collectionVersions.jobId, job.id), eq(collectionVersions.status, 'building')));
    },
  };
}

async function reindexBatch(batch: BatchRow, job: JobRow, ctx: BatchContext): Promise<void> {
  const state = job.state as unknown as ReindexState;
  const ids = ((batch.payload as { documentIds?: number[] }).documentIds ?? []).filter((x) => Number.isInteger(x));
  const collection = job.collectionId === null ? undefined : await getCollectionById(ctx.db, job.collectionId);
  const version = collection ? await findVersion(ctx.db, collection.id, state.version) : undefined;
  if (!collection || !version || version.status === 'dropped') {
    // The version went (dropped; its job is cancelled): commit refuses, and nothing is written.
    await ctx.commit({ done: 0, failed: 0, errors: [] }, async () => undefined);
    return;
  }
  const target = atVersion(collection, version);
  const docs = ids.length === 0 ? [] : await ctx.db
    .select({ id: documents.id, externalId: documents.externalId, title: documents.title, body: documents.body, contentHash: documents.contentHash })
    .from(documents)
    .where(and(eq(documents.collectionId, collection.id), inArray(documents.id, ids)));
  const embedder = await ctx.embedders.forBinding(target);
  const chunked = await Promise.all(docs.map((d) => embedder.chunk(embeddedText(d), { overlapTokens: target.chunkOverlap, maxTokens: target.maxTokens, prefix: target.documentPrefix })));
  const vectors = await embedder.embedChunks(chunked.flat(), { priority: 'bulk', signal: ctx.signal });
  let next = 0;
  const embedded = docs.map((d, i) => ({
    ...d,
    rows: chunked[i]!.map((c): ChunkRow => ({ chunkIndex: c.index, startOffset: c.start, endOffset: c.end, tokenCount: c.tokenCount, vector: vectors[next++]! })),
  }));
  await ctx.commit({ done: ids.length, failed: 0, errors: [] }, (tx) => writeVersionChunks(tx, target, version, embedded, ids.length));
}

/**
 * Writes one batch's chunks at the version, only for documents whose text is still the one
 * embedded (another was written meanwhile: the write path made it stale here, a catch-up round
 * re-embeds it). Replacing the version's rows makes a batch written twice write once.
 */
async function writeVersionChunks(
  tx: Database,
  target: CollectionRecord,
  version: VersionRecord,
  embedded: { id: number; externalId: string; contentHash: string; rows: ChunkRow[] }[],
  records: number,
) {
  const now = embedded.length === 0 ? [] : await tx.select({ id: documents.id, contentHash: documents.contentHash }).from(documents).where(inArray(documents.id, embedded.map((d) => d.id)));
  const hashNow = new Map(now.map((r) => [r.id, r.contentHash]));
  const kept = embedded.filter((d) => hashNow.get(d.id) === d.contentHash);
  if (kept.length > 0) {
    await replaceChunks(tx, version.version, kept.map((d) => d.id), kept.flatMap((d) => d.rows.map((r) => ({ ...r, documentId: d.id, contentHash: d.contentHash }))));
    await tx.insert(outbox).values(kept.map((d) => ({ op: 'sync', indexName: target.indexName, collectionId: target.id, externalId: d.externalId })));
  }
  // Skipped ones (changed, or deleted since) count as done: the catch-up or the delete covers them.
  return { done: records, failed: 0, errors: [], counts: { embedded: kept.length, skipped: records - kept.length } };
}

/** Chunk rows at a version, for progress (documents with fresh chunks there). */
export async function freshDocumentCount(db: Database, collectionId: number, version: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(documents)
    .where(and(
      eq(documents.collectionId, collectionId),
      sql`exists (select 1 from ${chunks} c where c.document_id = ${documents.id} and c.version = ${version} and c.content_hash = ${documents.contentHash})`,
    ));
  return row?.n ?? 0;
}
