import { and, eq } from 'drizzle-orm';
import { countStaleDocuments, findVersion } from '../catalog/collection-versions.js';
import { bindingColumns, type CollectionRecord } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import { collections, collectionVersions, outbox } from '../db/schema.js';

/**
 * The index alias biovec keeps on the current version's index collection: the collection's own
 * name, so a Qdrant client (or the embedded index) reading `<name>` reads what search reads.
 * biovec itself reads the catalog's indexName, which the switch moves in the same transaction.
 */
export const aliasFor = (collectionName: string) => collectionName;

/**
 * Makes `version` the collection's current one, atomically: under the collection row's lock
 * (FOR UPDATE: it waits for writers holding FOR SHARE, and they for it), copies the version's
 * binding, number and index collection to the collection row, marks the version ready and
 * queues the alias move through the outbox. With `requireFresh`, refuses ('stale') while a
 * document is stale at the version. 'gone': no such collection or version.
 */
export async function switchTo(db: Database, opts: { collectionId: number; version: number; requireFresh: boolean }): Promise<CollectionRecord | 'stale' | 'gone'> {
  return db.transaction(async (tx) => {
    const [locked] = await tx.select().from(collections).where(eq(collections.id, opts.collectionId)).for('update');
    if (!locked) return 'gone' as const;
    const version = await findVersion(tx, locked.id, opts.version);
    if (!version || version.status === 'dropped') return 'gone' as const;
    if (opts.requireFresh && (await countStaleDocuments(tx, locked.id, version.version)) > 0) return 'stale' as const;
    const [switched] = await tx
      .update(collections)
      .set({ ...bindingColumns(version), version: version.version, indexName: version.indexName, updatedAt: new Date() })
      .where(eq(collections.id, locked.id))
      .returning();
    await tx
      .update(collectionVersions)
      .set({ status: 'ready', readyAt: version.readyAt ?? new Date() })
      .where(and(eq(collectionVersions.id, version.id)));
    await tx.insert(outbox).values({ op: 'alias', indexName: version.indexName, collectionId: locked.id, externalId: aliasFor(locked.name) });
    return switched!;
  });
}
