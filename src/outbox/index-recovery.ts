import { sql } from 'drizzle-orm';
import type { CollectionRecord } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import { collections, documents, outbox } from '../db/schema.js';
import type { VectorIndex } from '../vectors/vector-index.js';

/**
 * Catalog collections that hold documents but whose index collection does not exist: lost
 * behind biovec's back (a lost volume, a manual delete), or not created yet in the moment
 * between the first write and the worker's first round. An index that does not answer is not
 * reported here: it is unreachable, not missing.
 */
export async function findMissingIndexes(db: Database, index: VectorIndex): Promise<CollectionRecord[]> {
  const withDocuments = await collectionsWithDocuments(db);
  const missing: CollectionRecord[] = [];
  for (const collection of withDocuments) {
    if (!(await index.collectionInfo(collection.indexName))) missing.push(collection);
  }
  return missing;
}

/**
 * Catalog collections with documents whose index collection exists but keeps no lexical
 * (BM25) index: made before issue 15. Unreachable indexes are skipped, as above.
 */
export async function findIndexesWithoutLexical(db: Database, index: VectorIndex): Promise<CollectionRecord[]> {
  const withDocuments = await collectionsWithDocuments(db);
  const out: CollectionRecord[] = [];
  for (const collection of withDocuments) {
    const info = await index.collectionInfo(collection.indexName);
    if (info && !info.lexical) out.push(collection);
  }
  return out;
}

/**
 * Queues a sync of every document of the collection, so the worker rewrites its whole index
 * collection from the catalog (which holds every vector). Documents that already have a due
 * sync row are skipped; rows being applied or backing off are not counted, since a row in
 * flight may have written into the collection that was lost. Returns the rows queued.
 */
export async function queueCollectionResync(db: Database, collection: CollectionRecord): Promise<number> {
  const inserted = await db.execute<{ id: number }>(sql`
    insert into ${outbox} (op, index_name, collection_id, external_id)
    select 'sync', ${collection.indexName}, ${collection.id}, d.external_id
    from ${documents} d
    where d.collection_id = ${collection.id}
      and not exists (
        select 1 from ${outbox} o
        where o.op = 'sync' and o.index_name = ${collection.indexName} and o.external_id = d.external_id and o.next_attempt_at <= now()
      )
    order by d.id
    returning id`);
  return rowCount(inserted);
}

/** node-postgres answers `{ rows }`, PGlite too; count what came back either way. */
function rowCount(result: unknown): number {
  if (Array.isArray(result)) return result.length;
  const rows = (result as { rows?: unknown[] }).rows;
  return Array.isArray(rows) ? rows.length : 0;
}

/** Catalog collections that hold at least one document, by name: the ones an index must serve. */
function collectionsWithDocuments(db: Database): Promise<CollectionRecord[]> {
  return db
    .select()
    .from(collections)
    .where(sql`exists (select 1 from ${documents} where ${documents.collectionId} = ${collections.id})`)
    .orderBy(collections.name);
}
