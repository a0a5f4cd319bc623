import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { bindingColumns, ensureCollectionRecord, getCollection, indexNameFor, type CollectionConfig } from '../catalog/collections.js';
import { chunksByDocument, findDocument, VersionChangedError } from '../catalog/documents.js';
import { chunks, collectionVersions, outbox } from '../db/schema.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import { commitIngest, ingestDocuments, prepareIngest } from '../ingest/ingest-documents.js';
import type { EmbedderSource } from '../jobs/job-kind.js';
import { switchTo } from './version-switch.js';

const config = (name: string): CollectionConfig => ({ name, modelId: 'test/hash-embedder', modelRevision: 'v1', pooling: 'mean', normalize: true, maxTokens: 16, dims: 32, distance: 'cosine', queryPrefix: '', documentPrefix: '', chunkOverlap: 0 });

// The catalog side of issue 16's versions: writes race a switch; readers see one version.
describe.each(DATABASE_BACKENDS)('per-version catalog on %s', (backend) => {
  let t: TestDatabase;
  const v1 = new HashEmbedder(32, 16);
  const v2 = new HashEmbedder(16, 16);
  const embedders: EmbedderSource = { forBinding: async (b) => (b.dims === 16 ? v2 : v1) };
  beforeAll(async () => {
    t = await openTestDatabase(backend);
  });
  afterAll(async () => t.cleanup());

  async function withVersion2(name: string) {
    const collection = await ensureCollectionRecord(t.handle.db, config(name));
    const [row] = await t.handle.db.select().from(collectionVersions).where(eq(collectionVersions.collectionId, collection.id));
    expect(row).toMatchObject({ version: 1, status: 'ready', indexName: `${name}__v1`, dims: 32 });
    await t.handle.db.insert(collectionVersions).values({ ...bindingColumns(collection), dims: 16, collectionId: collection.id, version: 2, indexName: indexNameFor(name, 2), status: 'ready' });
    return collection;
  }

  it('refuses a write embedded for the version switched away from (nothing written), and ingestDocuments retries with the new model', async () => {
    const db = t.handle.db;
    const before = await withVersion2('raced');
    const prepared = await prepareIngest({ db, embedder: v1, collection: before, documents: [{ externalId: 'a', body: 'BRCA1 breast cancer' }] });
    const switched = await switchTo(db, { collectionId: before.id, version: 2, requireFresh: false });
    expect(switched).toMatchObject({ version: 2, dims: 16, indexName: 'raced__v2' });
    await expect(commitIngest(db, prepared)).rejects.toBeInstanceOf(VersionChangedError);
    expect(await findDocument(db, before, 'a')).toBeUndefined();

    // The caller still holds the version-1 record: the retry re-reads it and embeds for version 2.
    const [outcome] = await ingestDocuments({ db, embedder: v1, embedders, collection: before, documents: [{ externalId: 'a', body: 'BRCA1 breast cancer' }] });
    expect(outcome).toMatchObject({ status: 'created', embeddedChunks: 1 });
    const doc = await findDocument(db, before, 'a');
    const rows = await db.select().from(chunks).where(eq(chunks.documentId, doc!.id));
    expect(rows.map((r) => [r.version, r.vector.length, r.contentHash === doc!.contentHash])).toEqual([[2, 16, true]]);
    // Outbox rows for every version's index collection: each projects its own chunks.
    const synced = await db.select({ indexName: outbox.indexName }).from(outbox).where(and(eq(outbox.collectionId, before.id), eq(outbox.op, 'sync')));
    expect(new Set(synced.map((r) => r.indexName))).toEqual(new Set(['raced__v1', 'raced__v2']));
    // The switch queued the alias move.
    const [alias] = await db.select().from(outbox).where(and(eq(outbox.collectionId, before.id), eq(outbox.op, 'alias')));
    expect(alias).toMatchObject({ indexName: 'raced__v2', externalId: 'raced' });
  });

  it('reads only chunks of the version asked and of the present text: a changed document is stale at the other version', async () => {
    const db = t.handle.db;
    const collection = await withVersion2('stale');
    await ingestDocuments({ db, embedder: v1, embedders, collection, documents: [{ externalId: 'a', body: 'statins lower cholesterol' }] });
    const doc = (await findDocument(db, collection, 'a'))!;
    expect((await chunksByDocument(db, [doc.id])).get(doc.id)).toHaveLength(1); // current: version 1
    expect((await chunksByDocument(db, [doc.id], 2)).get(doc.id)).toBeUndefined();
    await switchTo(db, { collectionId: collection.id, version: 2, requireFresh: false });
    const current = await getCollection(db, 'stale');
    await ingestDocuments({ db, embedder: v2, embedders, collection: current, documents: [{ externalId: 'a', body: 'statins lower LDL cholesterol' }] });
    // Version 1's rows are kept (for switching back) but are of the old text: not served.
    expect(await db.select({ v: chunks.version }).from(chunks).where(eq(chunks.documentId, doc.id))).toHaveLength(2);
    expect((await chunksByDocument(db, [doc.id], 1)).get(doc.id)).toBeUndefined();
    expect((await chunksByDocument(db, [doc.id])).get(doc.id)?.[0]?.vector.length).toBe(16);
    expect(await switchTo(db, { collectionId: collection.id, version: 1, requireFresh: true })).toBe('stale');
  });
});
