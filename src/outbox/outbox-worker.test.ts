import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { flakyIndex } from '../../test/helpers/flaky-index.js';
import { dropCollectionRecord, ensureCollectionRecord, type CollectionConfig } from '../catalog/collections.js';
import { eq } from 'drizzle-orm';
import { deleteDocuments } from '../catalog/documents.js';
import { outbox } from '../db/schema.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import { ingestDocuments } from '../ingest/ingest-documents.js';
import { EmbeddedIndex } from '../vectors/adapters/embedded/embedded-index.js';
import { pointId } from '../vectors/point-id.js';
import { OutboxWorker } from './outbox-worker.js';
import { reconcile } from './reconcile.js';

const config = (name: string): CollectionConfig => ({ name, modelId: 'test/hash-embedder', modelRevision: 'v1', pooling: 'mean', normalize: true, maxTokens: 16, dims: 32, distance: 'cosine', queryPrefix: '', documentPrefix: '', chunkOverlap: 0 });
const LONG = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');

describe.each(DATABASE_BACKENDS)('outbox worker and reconcile (%s catalog, embedded index)', (backend) => {
  let t: TestDatabase;
  let dir: string;
  let inner: EmbeddedIndex;
  let index: ReturnType<typeof flakyIndex>;
  const embedder = new HashEmbedder(32, 16);

  beforeAll(async () => {
    t = await openTestDatabase(backend);
    dir = await mkdtemp(join(tmpdir(), 'biovec-outbox-'));
    inner = await EmbeddedIndex.openAt(dir);
    index = flakyIndex(inner);
  });
  afterAll(async () => {
    await inner.close();
    await rm(dir, { recursive: true, force: true });
    await t.cleanup();
  });

  const worker = () => new OutboxWorker({ db: t.handle.db, index, baseBackoffMs: 10, maxBackoffMs: 50 });

  it('makes the index follow creates, text changes, metadata changes and deletes', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('follow'));
    await ingestDocuments({ db, embedder, collection, documents: [
      { externalId: 'long', body: LONG, metadata: { year: 1999, journal: 'Cell' }, labels: ['a'] },
      { externalId: 'short', body: 'aspirin platelets', metadata: { year: '2004' } },
    ] });
    expect(await worker().drain(10_000)).toBe(0);
    const chunksOfLong = await index.count('follow__v1', { must: [{ key: 'document_id', match: 'long' }] });
    expect(chunksOfLong).toBe(3); // 30 words in 14-word windows
    const [hit] = await index.search('follow__v1', { vector: (await embedder.embed(['aspirin platelets']))[0]!.vector, k: 1 });
    expect(hit).toMatchObject({ id: pointId('follow', 'short', 0), payload: { document_id: 'short', chunk_index: 0, year: 2004, labels: [] } });

    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'long', body: 'now short', metadata: { year: 1999, journal: 'Cell' }, labels: ['a'] }] });
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'short', body: 'aspirin platelets', metadata: { year: 2005 }, labels: ['cardiology'] }] });
    expect(await worker().drain(10_000)).toBe(0);
    expect(await index.count('follow__v1', { must: [{ key: 'document_id', match: 'long' }] })).toBe(1);
    expect(await index.count('follow__v1', { must: [{ key: 'labels', match: 'cardiology' }, { key: 'year', range: { gte: 2005 } }] })).toBe(1);

    await deleteDocuments(db, collection, ['short']);
    expect(await worker().drain(10_000)).toBe(0);
    expect(await index.count('follow__v1')).toBe(1);
    expect((await reconcile({ db, index, repair: false, collection: 'follow' }))[0]).toMatchObject({ catalogPoints: 1, indexPoints: 1, missing: 0, orphans: 0, stale: 0 });
  });

  it('keeps accepting writes while the index is down, and drains the backlog when it returns', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('outage'));
    index.down = true;
    const w = worker();
    for (let i = 0; i < 5; i++) await ingestDocuments({ db, embedder, collection, documents: [{ externalId: `d${i}`, body: `text number ${i}` }] });
    expect(await w.runOnce()).toEqual({ applied: 0, failed: 5 });
    const rows = await db.select().from(outbox);
    expect(rows.filter((r) => r.externalId?.startsWith('d')).every((r) => r.attempts === 1 && r.lastError?.includes('unreachable'))).toBe(true);
    expect(await w.lagSeconds()).toBeGreaterThanOrEqual(0);
    index.down = false;
    expect(await w.drain(10_000)).toBe(0);
    expect(await index.count('outage__v1')).toBe(5);
  });

  it('recovers rows claimed by a worker that died before applying them', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('lease'));
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'x', body: 'leased text' }] });
    // A worker claims with a short lease and "dies" (never applies).
    const dead = new OutboxWorker({ db, index, leaseMs: 200 });
    index.down = true;
    await dead.runOnce();
    index.down = false;
    await new Promise((r) => setTimeout(r, 600));
    expect(await worker().drain(10_000)).toBe(0);
    expect(await index.count('lease__v1')).toBe(1);
  });

  it('reconcile finds and repairs missing, orphan and stale points', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('drift'));
    await ingestDocuments({ db, embedder, collection, documents: ['p', 'q', 'r'].map((id) => ({ externalId: id, body: `document ${id} text` })) });
    expect(await worker().drain(10_000)).toBe(0);
    await index.deleteByIds('drift__v1', [pointId('drift', 'p', 0)]);
    await index.upsert('drift__v1', [{ id: pointId('drift', 'ghost', 0), vector: new Float32Array(32).fill(1), payload: { document_id: 'ghost' } }]);
    const qVector = (await embedder.embed(['document q text']))[0]!.vector;
    await index.upsert('drift__v1', [{ id: pointId('drift', 'q', 0), vector: qVector, payload: { document_id: 'q', chunk_index: 0, stale: true } }]);
    const [report] = await reconcile({ db, index, repair: true, collection: 'drift' });
    expect(report).toMatchObject({ catalogPoints: 3, indexPoints: 3, missing: 1, orphans: 1, stale: 1, repairedDocuments: 2, deletedOrphans: 1 });
    expect(await worker().drain(10_000)).toBe(0);
    expect((await reconcile({ db, index, repair: false, collection: 'drift' }))[0]).toMatchObject({ missing: 0, orphans: 0, stale: 0, indexPoints: 3 });
  });

  it('keeps the new points of a collection deleted and re-created while the index is down', async () => {
    const db = t.handle.db;
    // Backoffs far longer than the drain below: only ordering and catch-up can make it pass.
    const patient = new OutboxWorker({ db, index, baseBackoffMs: 600_000, maxBackoffMs: 600_000 });
    const old = await ensureCollectionRecord(db, config('again'));
    await ingestDocuments({ db, embedder, collection: old, documents: ['a1', 'a2', 'a3'].map((id) => ({ externalId: id, body: `old ${id}` })) });
    expect(await patient.drain(10_000)).toBe(0);
    index.down = true;
    await dropCollectionRecord(db, 'again');
    expect(await patient.runOnce()).toEqual({ applied: 0, failed: 1 }); // the drop now waits out a long backoff
    const renewed = await ensureCollectionRecord(db, config('again'));
    expect(renewed.indexName).toBe(old.indexName);
    await ingestDocuments({ db, embedder, collection: renewed, documents: ['b1', 'b2', 'b3', 'b4'].map((id) => ({ externalId: id, body: `new ${id}` })) });
    index.down = false;
    // Before issue 11 the new syncs (due at once) went into the old collection, and the late drop then deleted them.
    expect(await patient.drain(20_000)).toBe(0);
    expect(await index.count('again__v1')).toBe(4);
    expect(await index.count('again__v1', { must: [{ key: 'document_id', any: ['a1', 'a2', 'a3'] }] })).toBe(0);
    expect((await reconcile({ db, index, repair: false, collection: 'again' }))[0]).toMatchObject({ catalogPoints: 4, indexPoints: 4, missing: 0, orphans: 0, stale: 0 });
  });

  it('retries rows waiting out a long backoff as soon as the index answers again', async () => {
    const db = t.handle.db;
    const patient = new OutboxWorker({ db, index, baseBackoffMs: 600_000, maxBackoffMs: 600_000 });
    const collection = await ensureCollectionRecord(db, config('prompt'));
    index.down = true;
    await ingestDocuments({ db, embedder, collection, documents: ['p1', 'p2', 'p3'].map((id) => ({ externalId: id, body: `prompt ${id}` })) });
    expect(await patient.runOnce()).toEqual({ applied: 0, failed: 3 });
    const [waiting] = await db.select().from(outbox).where(eq(outbox.externalId, 'p1'));
    expect(waiting!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 60_000);
    index.down = false;
    expect(await patient.drain(20_000)).toBe(0);
    expect(await index.count('prompt__v1')).toBe(3);
  });

  it('re-creates an index collection lost behind its back from the catalog, on the next write or the periodic check', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('lost'));
    await ingestDocuments({ db, embedder, collection, documents: ['l1', 'l2', 'l3'].map((id) => ({ externalId: id, body: `lost ${id}` })) });
    const w = worker();
    expect(await w.drain(10_000)).toBe(0);
    const loseIt = () => rm(join(dir, 'collections', 'lost__v1'), { recursive: true, force: true });
    // Lost, then written to: the write's 404 rebuilds the whole collection, not just the new document.
    await loseIt();
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'l4', body: 'lost l4' }] });
    expect(await w.drain(10_000)).toBe(0);
    expect((await reconcile({ db, index, repair: false, collection: 'lost' }))[0]).toMatchObject({ catalogPoints: 4, indexPoints: 4, missing: 0, orphans: 0, stale: 0 });
    // Lost with no write coming: the check the background loop runs finds and rebuilds it.
    await loseIt();
    await expect(index.search('lost__v1', { vector: new Float32Array(32).fill(0.1), k: 1 })).rejects.toThrow(/not found/);
    expect(await w.rebuildMissingIndexes()).toEqual(['lost']);
    expect(await w.drain(10_000)).toBe(0);
    expect((await reconcile({ db, index, repair: false, collection: 'lost' }))[0]).toMatchObject({ catalogPoints: 4, indexPoints: 4, missing: 0, orphans: 0, stale: 0 });
    expect(await w.rebuildMissingIndexes()).toEqual([]);
  });

  it('removes a dropped collection\'s index', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('dropme'));
    await ingestDocuments({ db, embedder, collection, documents: [{ externalId: 'a', body: 'alpha' }] });
    expect(await worker().drain(10_000)).toBe(0);
    expect(await index.collectionInfo('dropme__v1')).toBeDefined();
    await dropCollectionRecord(db, 'dropme');
    expect(await worker().drain(10_000)).toBe(0);
    expect(await index.collectionInfo('dropme__v1')).toBeUndefined();
  });
});
