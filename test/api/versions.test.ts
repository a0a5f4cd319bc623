import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCollection } from '../../src/catalog/collections.js';
import { chunksByDocument, findDocument } from '../../src/catalog/documents.js';
import { loadConfig } from '../../src/config.js';
import { chunks, documents, jobs } from '../../src/db/schema.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { loadEmbedder } from '../../src/embedding/load-embedder.js';
import type { BatchRow, JobKind, JobRow, NewBatch } from '../../src/jobs/job-kind.js';
import { silentLogger } from '../../src/lib/logger.js';
import { JobRunner } from '../../src/jobs/job-runner.js';
import { reconcile } from '../../src/outbox/reconcile.js';
import { QdrantIndex } from '../../src/vectors/adapters/qdrant-index.js';
import { createReindexKind } from '../../src/versions/reindex-kind.js';
import { createVersion } from '../../src/versions/version-service.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';
import { DATABASE_BACKENDS } from '../helpers/database.js';
import { fixtureModel } from '../helpers/fixtures.js';

const TEXTS = [
  'BRCA1 mutations raise the risk of breast and ovarian cancer',
  'Metformin lowers hepatic glucose production in type 2 diabetes',
  'CRISPR-Cas9 edits genomes at guide-RNA matched loci',
  'Statins inhibit HMG-CoA reductase and lower LDL cholesterol',
  'Amyloid beta plaques accumulate in Alzheimer disease brains',
  'Tumour necrosis factor drives inflammation in rheumatoid arthritis',
  'Insulin resistance precedes beta cell failure',
  'Aspirin irreversibly acetylates cyclooxygenase',
  'The p53 protein guards the genome against damage',
  'Vancomycin binds D-Ala-D-Ala of peptidoglycan precursors',
];
const docs = TEXTS.map((text, i) => ({ id: `d${i}`, text }));

function cosine(a: Float32Array | number[], b: Float32Array | number[]): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/**
 * The re-index kind driven step by step, as the queue would (plan, batches, complete), each
 * batch's write in a real transaction: lets a test search between two batches.
 */
class StepRunner {
  private queue: NewBatch[] = [];
  constructor(private readonly h: Harness, private readonly kind: JobKind, private job: JobRow) {}
  private ctx() {
    return { db: this.h.deps.db, logger: silentLogger(), signal: new AbortController().signal, embedders: this.h.deps.embedders };
  }
  private async addBatches(batches: NewBatch[], state?: Record<string, unknown>) {
    this.queue.push(...batches);
    if (state) this.job = { ...this.job, state: { ...this.job.state, ...state } };
  }
  async plan() {
    await this.kind.plan(this.job, { ...this.ctx(), addBatches: (b, s) => this.addBatches(b, s), saveState: async (s) => this.addBatches([], s) });
  }
  get pending() {
    return this.queue.length;
  }
  async runBatches(n = Infinity) {
    for (let i = 0; i < n && this.queue.length > 0; i++) {
      const next = this.queue.shift()!;
      const batch = { id: i, jobId: this.job.id, seq: i, status: 'pending', payload: next.payload, externalIds: next.externalIds, records: next.records } as unknown as BatchRow;
      await this.kind.processBatch(batch, this.job, { ...this.ctx(), commit: async (_outcome, write) => { await this.h.deps.db.transaction(async (tx) => { await write(tx as never); }); } });
    }
  }
  async complete() {
    return this.kind.complete!(this.job, { ...this.ctx(), addBatches: (b, s) => this.addBatches(b, s) });
  }
}

const QDRANT_URL = process.env.QDRANT_URL;
const SETUPS: { backend: 'pglite' | 'postgres'; index: 'embedded' | 'qdrant' }[] = [
  ...DATABASE_BACKENDS.map((backend) => ({ backend, index: 'embedded' as const })),
  ...(QDRANT_URL ? DATABASE_BACKENDS.map((backend) => ({ backend, index: 'qdrant' as const })) : []),
];

describe.each(SETUPS)('collection versions: re-index tiny-bert → tiny-roberta ($backend catalog, $index index)', ({ backend, index }) => {
  // Unique per run: a shared Qdrant keeps what earlier runs left.
  const name = `versions_${randomUUID().slice(0, 8)}`;
  const base = `/v1/collections/${name}`;
  let qdrant: QdrantIndex | undefined;
  let cacheDir: string;
  let bert: Embedder;
  let roberta: Embedder;
  let h: Harness;

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'biovec-versions-'));
    const cfg = (name: string) => loadConfig({}, { model: fixtureModel(name), cacheDir, threads: 1, inference: 'inline', hfHubOffline: true });
    bert = await loadEmbedder(cfg('tiny-bert'));
    roberta = await loadEmbedder(cfg('tiny-roberta'));
    if (index === 'qdrant') qdrant = new QdrantIndex({ url: QDRANT_URL!, apiKey: process.env.QDRANT_API_KEY, timeoutMs: 10_000 });
    h = await createHarness({ embedder: bert, backend, ...(qdrant ? { wrapIndex: () => qdrant! } : {}) });
    expect((await h.call('POST', '/v1/collections', { name })).status).toBe(201);
    const res = await h.call('POST', `${base}/documents`, docs);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await h.drain();
  }, 120_000);
  afterAll(async () => {
    if (qdrant) for (const v of [1, 2, 3]) await qdrant.dropCollection(`${name}__v${v}`).catch(() => undefined);
    await qdrant?.close();
    await h?.close();
    await bert?.close();
    await roberta?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  /** Dense search for a document's own text: score 1 only when one model embedded both query and document. */
  async function topFor(text: string) {
    const res = await h.call('POST', `${base}/search`, { query: text, k: 3, mode: 'dense' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.results[0] as { id: string; score: number };
  }

  async function expectReconcileClean(version: number) {
    await h.drain();
    const [report] = await reconcile({ db: h.deps.db, index: h.deps.index, repair: false, collection: name, version });
    expect(report).toMatchObject({ version, missing: 0, orphans: 0, stale: 0 });
    expect(report!.catalogPoints).toBeGreaterThan(0);
    return report!;
  }

  it('searches answer from the old version while it re-indexes, from the new one after the switch; a document written meanwhile is caught up', async () => {
    // The harness's queue would run the job on its own: this test drives the kind itself.
    await h.deps.imports.runner.stop();
    const { version, job } = await createVersion(h.deps, name, { model: fixtureModel('tiny-roberta') });
    expect(version).toMatchObject({ version: 2, status: 'building', modelId: roberta.info.modelId });
    // One version builds at a time.
    await expect(createVersion(h.deps, name, { model: fixtureModel('tiny-roberta'), chunkOverlap: 2 })).rejects.toThrow(/already being re-indexed into version 2/);
    const steps = new StepRunner(h, createReindexKind({ db: h.deps.db, logger: silentLogger(), batchDocuments: 3 }), job);
    await steps.plan();
    expect(steps.pending).toBe(4);
    await steps.runBatches(2);
    await h.drain();

    // Half re-indexed: the collection is still at version 1, searched with tiny-bert.
    const during = await topFor(TEXTS[4]!);
    expect(during.id).toBe('d4');
    expect(during.score).toBeCloseTo(1, 4);
    const view = await h.call('GET', base);
    expect(view.body).toMatchObject({ version: 1, index: `${name}__v1`, building: { version: 2, model: roberta.info.modelId, embedded: 6, documents: 10 } });
    const info = await h.call('GET', '/info');
    expect(info.body.collections[name]).toMatchObject({ version: 1, building: { version: 2, embedded: 6 } });

    // Written while re-indexing: d1 was already embedded at version 2 (now stale there), d10 is new.
    expect((await h.call('PATCH', `${base}/documents/d1`, { text: 'Metformin activates AMPK in hepatocytes' })).status).toBe(200);
    expect((await h.call('POST', `${base}/documents`, [{ id: 'd10', text: 'Penicillin inhibits transpeptidases' }])).status).toBe(200);
    await steps.runBatches();
    expect(await steps.complete()).toBe('more'); // d1 and d10 are stale at version 2
    await steps.runBatches();
    expect(await steps.complete()).toBe('done');

    const collection = await getCollection(h.deps.db, name);
    expect(collection).toMatchObject({ version: 2, indexName: `${name}__v2`, modelId: roberta.info.modelId });
    await h.drain();
    // The alias (the collection's name) moved with the switch: outside readers see version 2.
    const [viaAlias] = await h.deps.index.search(name, { vector: (await roberta.embed(['Metformin activates AMPK in hepatocytes']))[0]!.vector, k: 1 });
    expect(viaAlias?.payload.document_id).toBe('d1');
    expect(viaAlias!.score).toBeCloseTo(1, 4);
    const after = await topFor('Metformin activates AMPK in hepatocytes');
    expect(after.id).toBe('d1');
    expect(after.score).toBeCloseTo(1, 4);

    // Every document embedded exactly once at version 2, with tiny-roberta, from its present text.
    const rows = await h.deps.db
      .select({ externalId: documents.externalId, n: sql<number>`count(*)::int`, fresh: sql<number>`count(*) filter (where ${chunks.contentHash} = ${documents.contentHash})::int` })
      .from(chunks).innerJoin(documents, eq(documents.id, chunks.documentId))
      .where(and(eq(documents.collectionId, collection.id), eq(chunks.version, 2)))
      .groupBy(documents.externalId);
    expect(rows).toHaveLength(11);
    for (const r of rows) expect(r).toMatchObject({ n: 1, fresh: 1 });
    const d1 = await findDocument(h.deps.db, collection, 'd1');
    const [v2chunk] = (await chunksByDocument(h.deps.db, [d1!.id], 2)).get(d1!.id)!;
    const [want] = await roberta.embed(['Metformin activates AMPK in hepatocytes']);
    expect(cosine(v2chunk!.vector, want!.vector)).toBeGreaterThan(0.9999);

    await expectReconcileClean(2);
    // Version 1 stays, for switching back: d1's change reached it too.
    await expectReconcileClean(1);
    // What the queue does once complete() says done (this test stood in for it).
    await h.deps.db.update(jobs).set({ status: 'completed', finishedAt: new Date() }).where(eq(jobs.id, job.id));
    // A stopped runner does not start again: the next tests get a fresh one, as a restart would.
    h.deps.imports.runner = new JobRunner({ db: h.deps.db, logger: silentLogger(), embedders: h.deps.embedders, pollMs: 50, kinds: [createReindexKind({ db: h.deps.db, logger: silentLogger(), batchDocuments: 4 })] });
    h.deps.imports.runner.start();
  }, 180_000);

  it('switching back is instant, catches up documents changed since, and a version can be dropped', async () => {
    // Changed while version 2 is current: stale at version 1.
    expect((await h.call('PATCH', `${base}/documents/d2`, { text: 'Base editors change single nucleotides' })).status).toBe(200);
    const back = await h.call('POST', `${base}/versions/1/switch`);
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body).toMatchObject({ collection: name, version: 1, stale: 1, job_id: expect.any(String) });
    expect((await getCollection(h.deps.db, name)).modelId).toBe(bert.info.modelId);
    await h.drain();
    // Unchanged documents answer from version 1 at once, embedded with tiny-bert.
    const top = await topFor(TEXTS[7]!);
    expect(top).toMatchObject({ id: 'd7' });
    expect(top.score).toBeCloseTo(1, 4);

    await waitForJob(back.body.job_id);
    await h.drain();
    const caught = await topFor('Base editors change single nucleotides');
    expect(caught.id).toBe('d2');
    expect(caught.score).toBeCloseTo(1, 4);
    await expectReconcileClean(1);

    const list = await h.call('GET', `${base}/versions`);
    expect(list.status).toBe(200);
    expect(list.body.current).toBe(1);
    expect(list.body.versions.map((v: { version: number; status: string; current: boolean }) => [v.version, v.status, v.current])).toEqual([[1, 'ready', true], [2, 'ready', false]]);

    expect((await h.call('DELETE', `${base}/versions/1`)).status).toBe(409);
    expect((await h.call('DELETE', `${base}/versions/2`)).status).toBe(204);
    await h.drain();
    expect(await h.deps.index.collectionInfo(`${name}__v2`)).toBeUndefined();
    const [{ n }] = (await h.deps.db.select({ n: sql<number>`count(*)::int` }).from(chunks).where(eq(chunks.version, 2))) as [{ n: number }];
    expect(n).toBe(0);
    expect((await h.call('POST', `${base}/versions/2/switch`)).status).toBe(404);
  }, 180_000);

  it('re-indexes through the queue over HTTP into version 3, and refuses bad requests', async () => {
    const bad = await h.call('POST', `${base}/versions`, { pooling: 'max', chunk_overlap: -1 });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/chunk_overlap', '/pooling']);
    const missing = await h.call('POST', `${base}/versions`, { model: join(cacheDir, 'no-such-model') });
    expect(missing.status).toBe(409);
    expect(missing.body.detail).toMatch(/cannot load model .*no-such-model/);
    expect((await h.call('POST', `${base}/versions`, {})).status).toBe(409); // the served model: already bound
    expect((await h.call('POST', '/v1/collections/nope/versions', {})).status).toBe(404);

    const created = await h.call('POST', `${base}/versions`, { model: fixtureModel('tiny-roberta'), chunk_overlap: 4 });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body.version).toMatchObject({ version: 3, status: 'building', current: false, chunk_overlap: 4 });
    expect(created.headers.get('location')).toBe(`/v1/jobs/${created.body.job.id}`);
    await waitForJob(created.body.job.id);
    const jobView = await h.call('GET', `/v1/jobs/${created.body.job.id}`);
    expect(jobView.body).toMatchObject({ kind: 'reindex', status: 'completed', done: 11, progress: 1 });
    const again = await h.call('POST', `${base}/versions`, { model: fixtureModel('tiny-roberta') });
    expect(again.status, JSON.stringify(again.body)).toBe(409); // already bound to it
    const view = await h.call('GET', base);
    expect(view.body).toMatchObject({ version: 3, index: `${name}__v3`, model: { id: roberta.info.modelId }, building: null });
    await h.drain();
    const top = await topFor(TEXTS[5]!);
    expect(top.id).toBe('d5');
    expect(top.score).toBeCloseTo(1, 4);
    await expectReconcileClean(3);
    await expectReconcileClean(1);
  }, 180_000);

  async function waitForJob(id: string) {
    for (let i = 0; i < 2400; i++) {
      const [job] = await h.deps.db.select().from(jobs).where(eq(jobs.id, id));
      if (job && !['queued', 'running'].includes(job.status)) {
        expect(job.status, JSON.stringify(job.state)).toBe('completed');
        return job;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${id} did not finish`);
  }
});
