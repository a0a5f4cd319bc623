import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { migrateDatabase } from '../db/migrate.js';
import { chunks, documents, outbox } from '../db/schema.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import { ingestDocuments } from '../ingest/ingest-documents.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../lib/errors.js';
import { dropCollectionRecord, ensureCollectionRecord, getCollection, type CollectionConfig } from './collections.js';
import { deleteDocuments, documentChunks, findDocument, planDocuments, writeDocuments } from './documents.js';

const config = (name: string): CollectionConfig => ({ name, modelId: 'test/hash-embedder', modelRevision: 'v1', pooling: 'mean', normalize: true, maxTokens: 16, dims: 32, distance: 'cosine', queryPrefix: '', documentPrefix: '', chunkOverlap: 2 });

describe.each(DATABASE_BACKENDS)('catalog on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
  });
  afterAll(async () => t.cleanup());

  it('applies migrations idempotently', async () => {
    await migrateDatabase(t.handle);
    const rows = await t.handle.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect(Number((rows as unknown as { rows: { n: number }[] }).rows[0]!.n)).toBeGreaterThanOrEqual(1);
  });

  it('binds a collection to one model configuration', async () => {
    const first = await ensureCollectionRecord(t.handle.db, config('bound'));
    expect(await ensureCollectionRecord(t.handle.db, config('bound'))).toEqual(first);
    expect(first.indexName).toBe('bound__v1');
    const err = await ensureCollectionRecord(t.handle.db, { ...config('bound'), dims: 64, pooling: 'cls' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).detail).toMatch(/pooling "mean" \(asked "cls"\).*dims 32 \(asked 64\)/);
    await expect(getCollection(t.handle.db, 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('re-embeds only what changed: unchanged is a no-op, metadata is a payload update, text re-embeds', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('ingest'));
    const embedder = new HashEmbedder(32, 16);
    const docs = [
      { externalId: 'pmid:1', title: 'Aspirin and COX', body: 'Aspirin irreversibly inhibits cyclooxygenase one and two in platelets and endothelial cells for days.', metadata: { year: 2001 }, labels: ['pharmacology'] },
      { externalId: 'pmid:2', title: 'BRCA1', body: 'Germline BRCA1 mutations raise breast cancer risk.', metadata: { year: 2015 }, labels: [] },
    ];
    expect((await ingestDocuments({ db, embedder, collection, documents: docs })).map((o) => o.status)).toEqual(['created', 'created']);
    const embeddedAfterCreate = embedder.embeddedTexts;
    const doc1 = await findDocument(db, collection, 'pmid:1');
    const chunk1 = await documentChunks(db, doc1!.id);
    expect(chunk1.length).toBeGreaterThan(1); // 16-token windows over the long body
    expect(chunk1[0]!.vector).toHaveLength(32);
    expect(docs[0]!.title + '\n\n' + docs[0]!.body).toContain(chunk1[1]!.startOffset > 0 ? 'Aspirin' : '');

    expect((await ingestDocuments({ db, embedder, collection, documents: docs })).map((o) => o.status)).toEqual(['unchanged', 'unchanged']);
    expect(embedder.embeddedTexts).toBe(embeddedAfterCreate);

    const relabelled = [{ ...docs[0]!, labels: ['pharmacology', 'cardiology'] }];
    expect(await ingestDocuments({ db, embedder, collection, documents: relabelled })).toEqual([{ externalId: 'pmid:1', status: 'updated', embeddedChunks: 0 }]);
    expect(embedder.embeddedTexts).toBe(embeddedAfterCreate);
    expect((await findDocument(db, collection, 'pmid:1'))!.labels).toEqual(['pharmacology', 'cardiology']);

    const rewritten = [{ ...relabelled[0]!, body: 'Aspirin.' }];
    const [outcome] = await ingestDocuments({ db, embedder, collection, documents: rewritten });
    expect(outcome).toMatchObject({ status: 'updated', embeddedChunks: 1 });
    expect(await documentChunks(db, doc1!.id)).toHaveLength(1);

    const outboxRows = await db.select().from(outbox).where(eq(outbox.collectionId, collection.id));
    expect(outboxRows.map((r) => r.externalId)).toEqual(['pmid:1', 'pmid:2', 'pmid:1', 'pmid:1']);
  });

  it('refuses documents without id or text, naming each', async () => {
    const collection = await ensureCollectionRecord(t.handle.db, config('invalid'));
    const err = await ingestDocuments({ db: t.handle.db, embedder: new HashEmbedder(), collection, documents: [{ externalId: '', body: 'x' }, { externalId: 'a', body: '  ', title: null }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues.map((i) => i.pointer)).toEqual(['/0/id', '/1/text']);
  });

  it('writes a document and its outbox row atomically: a failed write leaves neither', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('atomic'));
    const [planned] = await planDocuments(db, collection, [{ externalId: 'x', body: 'text' }]);
    const v = new Float32Array(32);
    // Two chunks with the same index violate the primary key mid-transaction.
    const bad = { ...planned!, chunks: [{ chunkIndex: 0, startOffset: 0, endOffset: 4, tokenCount: 3, vector: v }, { chunkIndex: 0, startOffset: 0, endOffset: 4, tokenCount: 3, vector: v }] };
    await expect(writeDocuments(db, collection, [bad])).rejects.toThrow();
    expect(await findDocument(db, collection, 'x')).toBeUndefined();
    expect(await db.select().from(outbox).where(eq(outbox.collectionId, collection.id))).toEqual([]);
  });

  it('deletes documents with their chunks, queues the index removal, and drops collections', async () => {
    const db = t.handle.db;
    const collection = await ensureCollectionRecord(db, config('deletes'));
    await ingestDocuments({ db, embedder: new HashEmbedder(), collection, documents: [{ externalId: 'a', body: 'alpha beta' }, { externalId: 'b', body: 'gamma' }] });
    expect(await deleteDocuments(db, collection, ['a', 'missing'])).toEqual(['a']);
    expect(await findDocument(db, collection, 'a')).toBeUndefined();
    const [{ n }] = (await db.select({ n: sql<number>`count(*)::int` }).from(chunks).innerJoin(documents, eq(chunks.documentId, documents.id)).where(eq(documents.collectionId, collection.id))) as [{ n: number }];
    expect(n).toBe(1);
    await dropCollectionRecord(db, 'deletes');
    await expect(getCollection(db, 'deletes')).rejects.toBeInstanceOf(NotFoundError);
    const drops = await db.select().from(outbox).where(eq(outbox.op, 'drop'));
    expect(drops.map((r) => r.indexName)).toContain('deletes__v1');
    await expect(dropCollectionRecord(db, 'deletes')).rejects.toBeInstanceOf(NotFoundError);
  });
});
