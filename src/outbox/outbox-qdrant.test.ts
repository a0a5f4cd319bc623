import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { flakyIndex } from '../../test/helpers/flaky-index.js';
import { dropCollectionRecord, ensureCollectionRecord, type CollectionConfig } from '../catalog/collections.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import { deleteDocuments } from '../catalog/documents.js';
import { ingestDocuments } from '../ingest/ingest-documents.js';
import { termVector } from '../lexical/term-vector.js';
import { indexSpecFor } from './index-points.js';
import { QdrantIndex } from '../vectors/adapters/qdrant-index.js';
import { OutboxWorker } from './outbox-worker.js';
import { reconcile } from './reconcile.js';

// The outbox defects of issue 11 on a real Qdrant (run by `npm run test:qdrant`; skipped without QDRANT_URL).
const QDRANT_URL = process.env.QDRANT_URL;
const config = (name: string): CollectionConfig => ({ name, modelId: 'test/hash-embedder', modelRevision: 'v1', pooling: 'mean', normalize: true, maxTokens: 16, dims: 32, distance: 'cosine', queryPrefix: '', documentPrefix: '', chunkOverlap: 0 });

describe.skipIf(!QDRANT_URL).each(DATABASE_BACKENDS)('outbox worker on the Qdrant at QDRANT_URL (%s catalog)', (backend) => {
  let t: TestDatabase;
  let inner: QdrantIndex;
  let index: ReturnType<typeof flakyIndex>;
  const embedder = new HashEmbedder(32, 16);
  const created: string[] = [];
  // Collections are unique per run: the server is shared and keeps what earlier runs left.
  const unique = (prefix: string) => {
    const name = `${prefix}_${randomUUID().slice(0, 8)}`;
    created.push(`${name}__v1`);
    return name;
  };
  const rawDelete = async (indexName: string) => {
    const res = await fetch(`${QDRANT_URL!.replace(/\/+$/, '')}/collections/${indexName}`, { method: 'DELETE', headers: process.env.QDRANT_API_KEY ? { 'api-key': process.env.QDRANT_API_KEY } : {} });
    expect(res.ok).toBe(true);
  };

  beforeAll(async () => {
    t = await openTestDatabase(backend);
    inner = new QdrantIndex({ url: QDRANT_URL!, apiKey: process.env.QDRANT_API_KEY, timeoutMs: 10_000 });
    index = flakyIndex(inner);
  });
  afterAll(async () => {
    for (const name of created) await inner.dropCollection(name).catch(() => undefined);
    await inner.close();
    await t.cleanup();
  });

  it('keeps the new points of a collection deleted and re-created while the index is down', async () => {
    const db = t.handle.db;
    const name = unique('again');
    const patient = new OutboxWorker({ db, index, baseBackoffMs: 600_000, maxBackoffMs: 600_000 });
    const old = await ensureCollectionRecord(db, config(name));
    await ingestDocuments({ db, embedder, collection: old, documents: ['a1', 'a2', 'a3'].map((id) => ({ externalId: id, body: `old ${id}` })) });
    expect(await patient.drain(20_000)).toBe(0);
    index.down = true;
    await dropCollectionRecord(db, name);
    expect(await patient.runOnce()).toEqual({ applied: 0, failed: 1 });
    const renewed = await ensureCollectionRecord(db, config(name));
    await ingestDocuments({ db, embedder, collection: renewed, documents: ['b1', 'b2', 'b3', 'b4'].map((id) => ({ externalId: id, body: `new ${id}` })) });
    index.down = false;
    expect(await patient.drain(20_000)).toBe(0);
    expect((await reconcile({ db, index, repair: false, collection: name }))[0]).toMatchObject({ catalogPoints: 4, indexPoints: 4, missing: 0, orphans: 0, stale: 0 });
  });

  it('keeps the sparse (BM25) vectors in step: writes, rewrites and deletes them with the dense ones', async () => {
    const db = t.handle.db;
    const name = unique('lexical');
    const collection = await ensureCollectionRecord(db, config(name));
    const w = new OutboxWorker({ db, index, baseBackoffMs: 10, maxBackoffMs: 50 });
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'x1', body: 'BRCA1 carriers' }, { externalId: 'x2', body: 'IL-6 in sepsis' }] });
    expect(await w.drain(20_000)).toBe(0);
    expect(await inner.collectionInfo(collection.indexName)).toMatchObject({ lexical: true, points: 2 });
    const lexical = async (text: string) => (await inner.searchLexical(collection.indexName, { terms: termVector(text), k: 10 })).map((h) => h.payload.document_id);
    expect(await lexical('brca1')).toEqual(['x1']);
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'x1', body: 'zebrafish fins' }] });
    expect(await w.drain(20_000)).toBe(0);
    expect(await lexical('brca1')).toEqual([]);
    expect(await lexical('zebrafish')).toEqual(['x1']);
    await deleteDocuments(db, collection, ['x2']);
    expect(await w.drain(20_000)).toBe(0);
    expect(await lexical('sepsis')).toEqual([]);
    expect((await reconcile({ db, index, repair: false, collection: name }))[0]).toMatchObject({ lexical: true, catalogPoints: 1, indexPoints: 1, missing: 0, orphans: 0, stale: 0 });
  });

  it('reconcile --repair --lexical re-creates a dense-only Qdrant collection with its lexical index, from the catalog', async () => {
    const db = t.handle.db;
    const name = unique('prelexical');
    const collection = await ensureCollectionRecord(db, config(name));
    await inner.ensureCollection({ ...indexSpecFor(collection), lexical: false });
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'p1', body: 'BRCA1 carriers' }, { externalId: 'p2', body: 'IL-6 in sepsis' }] });
    const w = new OutboxWorker({ db, index, baseBackoffMs: 10, maxBackoffMs: 50 });
    expect(await w.drain(20_000)).toBe(0);
    expect(await inner.collectionInfo(collection.indexName)).toMatchObject({ lexical: false, points: 2 });
    expect(await w.buildLexicalIndexes()).toEqual([]); // Qdrant cannot add it in place
    const [plain] = await reconcile({ db, index, repair: true, collection: name });
    expect(plain).toMatchObject({ lexical: false, stale: 0 });
    const embedded = embedder.embeddedTexts;
    await reconcile({ db, index, repair: true, collection: name, recreateForLexical: true });
    expect(await w.drain(20_000)).toBe(0);
    expect(embedder.embeddedTexts).toBe(embedded);
    expect(await inner.collectionInfo(collection.indexName)).toMatchObject({ lexical: true, points: 2 });
    expect((await inner.searchLexical(collection.indexName, { terms: termVector('il-6'), k: 5 })).map((h) => h.payload.document_id)).toEqual(['p2']);
    expect((await reconcile({ db, index, repair: false, collection: name }))[0]).toMatchObject({ lexical: true, missing: 0, orphans: 0, stale: 0 });
  });

  it('re-creates a Qdrant collection deleted behind its back from the catalog', async () => {
    const db = t.handle.db;
    const name = unique('lost');
    const collection = await ensureCollectionRecord(db, config(name));
    await ingestDocuments({ db, embedder, collection, documents: ['l1', 'l2', 'l3'].map((id) => ({ externalId: id, body: `lost ${id}` })) });
    const w = new OutboxWorker({ db, index, baseBackoffMs: 10, maxBackoffMs: 50 });
    expect(await w.drain(20_000)).toBe(0);
    await rawDelete(collection.indexName);
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'l4', body: 'lost l4' }] });
    expect(await w.drain(20_000)).toBe(0);
    expect((await reconcile({ db, index, repair: false, collection: name }))[0]).toMatchObject({ catalogPoints: 4, indexPoints: 4, missing: 0, orphans: 0, stale: 0 });
    await rawDelete(collection.indexName);
    expect(await w.rebuildMissingIndexes()).toEqual([name]);
    expect(await w.drain(20_000)).toBe(0);
    expect((await reconcile({ db, index, repair: false, collection: name }))[0]).toMatchObject({ catalogPoints: 4, indexPoints: 4, missing: 0, orphans: 0, stale: 0 });
  });
});
