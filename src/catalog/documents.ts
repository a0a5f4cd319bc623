import { and, eq, inArray, asc, gt, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { chunks, documents, outbox } from '../db/schema.js';
import { contentHash, metadataHash } from './hashes.js';
import type { CollectionRecord } from './collections.js';

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
 * Writes documents, their chunks and the outbox rows the index needs, in one transaction:
 * once it commits, the index will converge to it whatever crashes afterwards.
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
      await tx.delete(chunks).where(inArray(chunks.documentId, ids.map((r) => r.id)));
      const rows = group.flatMap((w) => w.chunks!.map((c) => ({ ...c, documentId: idOf.get(w.input.externalId)! })));
      for (let j = 0; j < rows.length; j += 1000) await tx.insert(chunks).values(rows.slice(j, j + 1000));
    }
    await tx.insert(outbox).values(changed.map((w) => ({ op: 'sync', indexName: collection.indexName, collectionId: collection.id, externalId: w.input.externalId })));
  });
}

/** Deletes documents (and their chunks) and queues their removal from the index. Returns the ids that existed. */
export async function deleteDocuments(db: Database, collection: CollectionRecord, externalIds: string[]): Promise<string[]> {
  if (externalIds.length === 0) return [];
  return db.transaction(async (tx) => {
    const deleted = await tx
      .delete(documents)
      .where(and(eq(documents.collectionId, collection.id), inArray(documents.externalId, externalIds)))
      .returning({ externalId: documents.externalId });
    if (deleted.length > 0) {
      await tx.insert(outbox).values(deleted.map((d) => ({ op: 'sync', indexName: collection.indexName, collectionId: collection.id, externalId: d.externalId })));
    }
    return deleted.map((d) => d.externalId);
  });
}

export async function findDocument(db: Database, collection: CollectionRecord, externalId: string): Promise<DocumentRecord | undefined> {
  const [row] = await db.select().from(documents).where(and(eq(documents.collectionId, collection.id), eq(documents.externalId, externalId))).limit(1);
  return row;
}

export async function documentChunks(db: Database, documentId: number): Promise<ChunkRow[]> {
  return (await chunksByDocument(db, [documentId])).get(documentId) ?? [];
}

/** The chunks of several documents in one query, by document id, each list in chunk order. */
export async function chunksByDocument(db: Database, documentIds: number[]): Promise<Map<number, ChunkRow[]>> {
  const byDocument = new Map<number, ChunkRow[]>();
  if (documentIds.length === 0) return byDocument;
  const rows = await db.select().from(chunks).where(inArray(chunks.documentId, documentIds)).orderBy(asc(chunks.documentId), asc(chunks.chunkIndex));
  for (const { documentId, ...chunk } of rows) {
    let list = byDocument.get(documentId);
    if (!list) byDocument.set(documentId, (list = []));
    list.push(chunk);
  }
  return byDocument;
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
