import { and, eq, inArray, asc, gt, ne, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { chunks, collections, collectionVersions, documents, outbox } from '../db/schema.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import { contentHash, metadataHash } from './hashes.js';
import type { CollectionRecord } from './collections.js';

/**
 * The collection switched to another version between embedding and writing: the vectors are
 * of the old version's model. Retryable: re-read the collection, embed again, write again.
 */
export class VersionChangedError extends ConflictError {
  constructor(collection: string, embeddedFor: number, current: number) {
    super(`collection ${collection} switched from version ${embeddedFor} to ${current} while these documents were embedded; retry`, { extensions: { retryable: true } });
  }
}

export interface DocumentInput {
  externalId: string;
  title?: string | null;
  body: string;
  metadata?: Record<string, unknown>;
  labels?: string[];
}

export type PlannedAction = 'create' | 'content' | 'metadata' | 'unchanged';

export interface PlannedDocument {
  input: DocumentInput;
  action: PlannedAction;
  contentHash: string;
  metadataHash: string;
}

export interface ChunkRow {
  chunkIndex: number;
  startOffset: number;
  endOffset: number;
  tokenCount: number;
  vector: Float32Array;
}

export interface DocumentWrite extends PlannedDocument {
  /** Required for create and content actions. */
  chunks?: ChunkRow[];
}

export type DocumentRecord = typeof documents.$inferSelect;

/**
 * Decides per input what a write must do, from stored hashes: a new document, new text
 * (re-embed), new metadata or labels only (payload update), or nothing.
 */
export async function planDocuments(db: Database, collection: CollectionRecord, inputs: DocumentInput[]): Promise<PlannedDocument[]> {
  const ids = [...new Set(inputs.map((d) => d.externalId))];
  const existing = new Map<string, { contentHash: string; metadataHash: string }>();
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await db
      .select({ externalId: documents.externalId, contentHash: documents.contentHash, metadataHash: documents.metadataHash })
      .from(documents)
      .where(and(eq(documents.collectionId, collection.id), inArray(documents.externalId, ids.slice(i, i + 1000))));
    for (const row of rows) existing.set(row.externalId, row);
  }
  return inputs.map((input) => {
    const c = contentHash(input.title, input.body);
    const m = metadataHash(input.metadata ?? {}, input.labels ?? []);
    const stored = existing.get(input.externalId);
    const action: PlannedAction = !stored ? 'create' : stored.contentHash !== c ? 'content' : stored.metadataHash !== m ? 'metadata' : 'unchanged';
    return { input, action, contentHash: c, metadataHash: m };
  });
}

/**
 * Writes documents, their chunks (at `collection.version`, the version they were embedded for)
 * and the outbox rows the index needs, in one transaction: once it commits, the index will
 * converge to it whatever crashes afterwards. Throws VersionChangedError (retryable) when the
 * collection switched version since `collection` was read, NotFoundError when it was dropped.
 */
export async function writeDocuments(db: Database, collection: CollectionRecord, writes: DocumentWrite[]): Promise<void> {
  const changed = writes.filter((w) => w.action !== 'unchanged');
  if (changed.length === 0) return;
  const now = new Date();
  const valuesOf = (w: DocumentWrite) => ({
    collectionId: collection.id,
    externalId: w.input.externalId,
    title: w.input.title ?? null,
    body: w.input.body,
    metadata: w.input.metadata ?? {},
    labels: w.input.labels ?? [],
    contentHash: w.contentHash,
    metadataHash: w.metadataHash,
    updatedAt: now,
  });
  const embedded = changed.filter((w) => w.action !== 'metadata');
  for (const w of embedded) if (!w.chunks) throw new Error(`bug: ${w.action} write for ${w.input.externalId} without chunks`);
  await db.transaction(async (tx) => {
    // FOR SHARE: writers run side by side; a version switch (FOR UPDATE) waits for them, and
    // they for it, so no write lands vectors of the old model after the switch.
    const current = await lockCollectionVersion(tx, collection);
    if (embedded.length > 0 && current !== collection.version) throw new VersionChangedError(collection.name, collection.version, current);
    for (const w of changed.filter((x) => x.action === 'metadata')) {
      const v = valuesOf(w);
      // An update, not an upsert: a document deleted since planning stays deleted.
      await tx
        .update(documents)
        .set({ metadata: v.metadata, labels: v.labels, metadataHash: v.metadataHash, title: v.title, updatedAt: now })
        .where(and(eq(documents.collectionId, collection.id), eq(documents.externalId, w.input.externalId)));
    }
    // Set-based writes: one statement per table for the whole batch, not three per document.
    for (let i = 0; i < embedded.length; i += 500) {
      const group = embedded.slice(i, i + 500);
      const ids = await tx
        .insert(documents)
        .values(group.map((w) => ({ ...valuesOf(w), chunkCount: w.chunks!.length })))
        .onConflictDoUpdate({
          target: [documents.collectionId, documents.externalId],
          set: {
            title: sql`excluded.title`, body: sql`excluded.body`, metadata: sql`excluded.metadata`, labels: sql`excluded.labels`,
            contentHash: sql`excluded.content_hash`, metadataHash: sql`excluded.metadata_hash`, chunkCount: sql`excluded.chunk_count`, updatedAt: now,
          },
        })
        .returning({ id: documents.id, externalId: documents.externalId });
      const idOf = new Map(ids.map((r) => [r.externalId, r.id]));
      const hashOf = new Map(group.map((w) => [w.input.externalId, w.contentHash]));
      // Only this version's rows: another version's chunks of the old text are now stale
      // (their contentHash differs), and its re-index or catch-up replaces them.
      await replaceChunks(tx, collection.version, ids.map((r) => r.id), group.flatMap((w) => w.chunks!.map((c) => ({ ...c, documentId: idOf.get(w.input.externalId)!, contentHash: hashOf.get(w.input.externalId)! }))));
    }
    await tx.insert(outbox).values(await syncRows(tx, collection, changed.map((w) => w.input.externalId)));
  });
}

/** Locks the collection row FOR SHARE and returns its current version. Throws NotFoundError. */
export async function lockCollectionVersion(tx: Database, collection: Pick<CollectionRecord, 'id' | 'name'>): Promise<number> {
  const [row] = await tx.select({ version: collections.version }).from(collections).where(eq(collections.id, collection.id)).for('share');
  if (!row) throw new NotFoundError('collection', collection.name);
  return row.version;
}

/** Replaces the given documents' chunks of one version (other versions' rows are kept). */
export async function replaceChunks(tx: Database, version: number, documentIds: number[], rows: (ChunkRow & { documentId: number; contentHash: string })[]): Promise<void> {
  for (let i = 0; i < documentIds.length; i += 1000) {
    await tx.delete(chunks).where(and(eq(chunks.version, version), inArray(chunks.documentId, documentIds.slice(i, i + 1000))));
  }
  const values = rows.map((r) => ({ ...r, version }));
  for (let j = 0; j < values.length; j += 1000) await tx.insert(chunks).values(values.slice(j, j + 1000));
}

/**
 * Outbox sync rows for these documents in every index collection of the collection's versions
 * (the current one, a building one, old ones kept for switching back): each projects its own
 * version's chunks, so a document changed or deleted here leaves none of them serving it stale.
 */
async function syncRows(tx: Database, collection: CollectionRecord, externalIds: string[]) {
  const versions = await tx
    .select({ indexName: collectionVersions.indexName })
    .from(collectionVersions)
    .where(and(eq(collectionVersions.collectionId, collection.id), ne(collectionVersions.status, 'dropped')));
  const indexNames = new Set([collection.indexName, ...versions.map((v) => v.indexName)]);
  return [...indexNames].flatMap((indexName) => externalIds.map((externalId) => ({ op: 'sync', indexName, collectionId: collection.id, externalId })));
}

/** Deletes documents (and their chunks) and queues their removal from the index. Returns the ids that existed. */
export async function deleteDocuments(db: Database, collection: CollectionRecord, externalIds: string[]): Promise<string[]> {
  if (externalIds.length === 0) return [];
  return db.transaction(async (tx) => {
    const deleted = await tx
      .delete(documents)
      .where(and(eq(documents.collectionId, collection.id), inArray(documents.externalId, externalIds)))
      .returning({ externalId: documents.externalId });
    if (deleted.length > 0) await tx.insert(outbox).values(await syncRows(tx, collection, deleted.map((d) => d.externalId)));
    return deleted.map((d) => d.externalId);
  });
}

export async function findDocument(db: Database, collection: CollectionRecord, externalId: string): Promise<DocumentRecord | undefined> {
  const [row] = await db.select().from(documents).where(and(eq(documents.collectionId, collection.id), eq(documents.externalId, externalId))).limit(1);
  return row;
}

/** A document's chunks at `version` (default: its collection's current one), fresh ones only (see chunksByDocument). */
export async function documentChunks(db: Database, documentId: number, version?: number): Promise<ChunkRow[]> {
  return (await chunksByDocument(db, [documentId], version)).get(documentId) ?? [];
}

/**
 * The chunks of several documents at one version (default: each one's collection's current
 * version) in one query, by document id, each list in chunk order. Only chunks embedded from
 * the document's present text count: a document changed since that version embedded it has
 * none there until its re-index or catch-up writes them (no vector of the old text is served).
 */
export async function chunksByDocument(db: Database, documentIds: number[], version?: number): Promise<Map<number, ChunkRow[]>> {
  const byDocument = new Map<number, ChunkRow[]>();
  if (documentIds.length === 0) return byDocument;
  const rows = await db
    .select({ documentId: chunks.documentId, chunkIndex: chunks.chunkIndex, startOffset: chunks.startOffset, endOffset: chunks.endOffset, tokenCount: chunks.tokenCount, vector: chunks.vector })
    .from(chunks)
    .innerJoin(documents, eq(documents.id, chunks.documentId))
    .innerJoin(collections, eq(collections.id, documents.collectionId))
    .where(and(
      inArray(chunks.documentId, documentIds),
      version === undefined ? eq(chunks.version, collections.version) : eq(chunks.version, version),
      eq(chunks.contentHash, documents.contentHash),
    ))
    .orderBy(asc(chunks.documentId), asc(chunks.chunkIndex));
  for (const { documentId, ...chunk } of rows) {
    let list = byDocument.get(documentId);
    if (!list) byDocument.set(documentId, (list = []));
    list.push(chunk);
  }
  return byDocument;
}

/** How many fresh chunks each document has at `version` (absent: none). */
export async function freshChunkCounts(db: Database, documentIds: number[], version: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (documentIds.length === 0) return out;
  const rows = await db
    .select({ documentId: chunks.documentId, n: sql<number>`count(*)::int` })
    .from(chunks)
    .innerJoin(documents, eq(documents.id, chunks.documentId))
    .where(and(inArray(chunks.documentId, documentIds), eq(chunks.version, version), eq(chunks.contentHash, documents.contentHash)))
    .groupBy(chunks.documentId);
  for (const r of rows) out.set(r.documentId, r.n);
  return out;
}

/** Documents in id order after `afterId`, for streaming exports and reconciliation. */
export async function documentPage(db: Database, collection: CollectionRecord, afterId: number, limit: number): Promise<DocumentRecord[]> {
  return db
    .select()
    .from(documents)
    .where(and(eq(documents.collectionId, collection.id), gt(documents.id, afterId)))
    .orderBy(asc(documents.id))
    .limit(limit);
}

export async function countDocuments(db: Database, collection: CollectionRecord): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(documents).where(eq(documents.collectionId, collection.id));
  return row?.n ?? 0;
}
