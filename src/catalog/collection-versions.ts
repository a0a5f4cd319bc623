import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { chunks, collectionVersions, documents } from '../db/schema.js';
import type { CollectionRecord } from './collections.js';

export type VersionRecord = typeof collectionVersions.$inferSelect;

/**
 * The collection as one of its versions sees it: that version's binding, number and index
 * collection under the collection's id and name. Readers that take a CollectionRecord (the
 * outbox projection, reconcile, exports) then read that version's chunks into its index.
 */
export function atVersion(collection: CollectionRecord, v: VersionRecord): CollectionRecord {
  return {
    ...collection,
    modelId: v.modelId,
    modelRevision: v.modelRevision,
    pooling: v.pooling,
    normalize: v.normalize,
    maxTokens: v.maxTokens,
    dims: v.dims,
    distance: v.distance,
    queryPrefix: v.queryPrefix,
    documentPrefix: v.documentPrefix,
    chunkOverlap: v.chunkOverlap,
    quantize: v.quantize,
    indexName: v.indexName,
    version: v.version,
  };
}

/** The collection's versions, oldest first, without dropped ones. */
export function listVersions(db: Database, collectionId: number): Promise<VersionRecord[]> {
  return db
    .select()
    .from(collectionVersions)
    .where(and(eq(collectionVersions.collectionId, collectionId), ne(collectionVersions.status, 'dropped')))
    .orderBy(asc(collectionVersions.version));
}

/** The number a new version gets: one past every version the collection ever had (dropped ones too: index names are never reused). */
export async function nextVersionNumber(db: Database, collectionId: number): Promise<number> {
  const [row] = await db.select({ n: sql<number>`coalesce(max(${collectionVersions.version}), 0)::int` }).from(collectionVersions).where(eq(collectionVersions.collectionId, collectionId));
  return (row?.n ?? 0) + 1;
}

export async function findVersion(db: Database, collectionId: number, version: number): Promise<VersionRecord | undefined> {
  const [row] = await db.select().from(collectionVersions).where(and(eq(collectionVersions.collectionId, collectionId), eq(collectionVersions.version, version))).limit(1);
  return row;
}

/** The collection as the version whose index collection is `indexName`; undefined once that version was dropped. */
export async function collectionAtIndex(db: Database, collection: CollectionRecord, indexName: string): Promise<CollectionRecord | undefined> {
  if (indexName === collection.indexName) return collection;
  const [row] = await db
    .select()
    .from(collectionVersions)
    .where(and(eq(collectionVersions.collectionId, collection.id), eq(collectionVersions.indexName, indexName), ne(collectionVersions.status, 'dropped')))
    .limit(1);
  return row ? atVersion(collection, row) : undefined;
}

/** The collection as version `version`; undefined when it has no such version. */
export async function collectionAtVersion(db: Database, collection: CollectionRecord, version: number): Promise<CollectionRecord | undefined> {
  if (version === collection.version) return collection;
  const row = await findVersion(db, collection.id, version);
  return row && row.status !== 'dropped' ? atVersion(collection, row) : undefined;
}

/**
 * Documents of the collection whose chunks at `version` are missing or were embedded from
 * other text (a document written since that version embedded it), in id order after `afterId`.
 */
export async function staleDocumentIds(db: Database, opts: { collectionId: number; version: number; afterId?: number; limit: number }): Promise<number[]> {
  const rows = await db
    .select({ id: documents.id })
    .from(documents)
    .where(and(
      eq(documents.collectionId, opts.collectionId),
      sql`${documents.id} > ${opts.afterId ?? 0}`,
      sql`not exists (select 1 from ${chunks} c where c.document_id = ${documents.id} and c.version = ${opts.version} and c.content_hash = ${documents.contentHash})`,
    ))
    .orderBy(asc(documents.id))
    .limit(opts.limit);
  return rows.map((r) => r.id);
}

/** How many documents are stale at `version` (see staleDocumentIds). */
export async function countStaleDocuments(db: Database, collectionId: number, version: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(documents)
    .where(and(
      eq(documents.collectionId, collectionId),
      sql`not exists (select 1 from ${chunks} c where c.document_id = ${documents.id} and c.version = ${version} and c.content_hash = ${documents.contentHash})`,
    ));
  return row?.n ?? 0;
}
