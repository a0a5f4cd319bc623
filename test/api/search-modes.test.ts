import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCollection } from '../../src/catalog/collections.js';
import { chunksByDocument, documentPage } from '../../src/catalog/documents.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { indexSpecFor, pointsFor } from '../../src/outbox/index-points.js';
import { reconcile } from '../../src/outbox/reconcile.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';
import { DATABASE_BACKENDS } from '../helpers/database.js';

const DOCS = [
  { id: 'brca', title: 'BRCA1 carriers', text: 'BRCA1 germline mutations and breast cancer risk', labels: ['oncology'], metadata: { year: 2012 } },
  { id: 'il6', text: 'IL-6 signalling in sepsis and the acute phase response', labels: ['immunology'], metadata: { year: 2015 } },
  { id: 'covid', text: 'COVID-19 vaccine trial in older adults', labels: ['infection'], metadata: { year: 2021 } },
  { id: 'statin', text: 'statins lower ldl cholesterol and cardiovascular risk', labels: ['cardio'], metadata: { year: 2010 } },
  { id: 'brca-mice', text: 'brca1 knockout mice develop tumours', labels: ['models'], metadata: { year: 2019 } },
];

function expectProblem(res: { status: number; body: any; headers: Headers }, pointer: string) {
  expect(res.status).toBe(422);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
}

describe.each(DATABASE_BACKENDS)('search modes: dense, lexical, hybrid (%s)', (backend) => {
  let h: Harness;
  const embedder = new HashEmbedder(32, 64);
  const search = (body: Record<string, unknown>) => h.call('POST', '/v1/collections/default/search', body);
  beforeAll(async () => {
    h = await createHarness({ embedder, backend });
    expect((await h.call('POST', '/v1/collections/default/documents', DOCS)).body.created).toBe(DOCS.length);
    await h.drain();
  });
  afterAll(async () => h.close());

  it('defaults to hybrid for text and says which legs found each hit, at which rank', async () => {
    const res = await search({ query: 'BRCA1 breast cancer', k: 5 });
    expect(res.status).toBe(200);
    expect(res.body.mode).toBe('hybrid');
    expect(res.body.results[0].id).toBe('brca');
    for (const r of res.body.results) {
      expect(r.legs.dense ?? r.legs.lexical).toBeDefined();
      for (const leg of Object.values(r.legs) as { rank: number; score: number }[]) expect(leg.rank).toBeGreaterThanOrEqual(1);
    }
    expect(res.body.results[0].legs.lexical).toMatchObject({ rank: 1 });
    expect(res.body.results[0].chunk).toMatchObject({ index: 0, text: expect.stringContaining('BRCA1') });
    // A vector query has no text for the lexical leg: dense.
    const doc = await h.call('GET', '/v1/collections/default/documents/brca?include=vectors');
    expect((await search({ vector: doc.body.chunks[0].vector, k: 2 })).body.mode).toBe('dense');
  });

  it('lexical finds exact biomedical tokens, whole; dense keeps its old scores and legs say dense only', async () => {
    const lexical = await search({ query: 'IL-6', mode: 'lexical', k: 5 });
    expect(lexical.body.mode).toBe('lexical');
    expect(lexical.body.results.map((r: { id: string }) => r.id)).toEqual(['il6']);
    expect(lexical.body.results[0].legs).toEqual({ lexical: { rank: 1, score: lexical.body.results[0].score } });
    const brca = await search({ query: 'brca1', mode: 'lexical', k: 5 });
    expect(brca.body.results.map((r: { id: string }) => r.id).sort()).toEqual(['brca', 'brca-mice']);
    expect((await search({ query: 'zebrafish', mode: 'lexical' })).body.results).toEqual([]);
    const dense = await search({ query: 'statins cholesterol', mode: 'dense', k: 3 });
    expect(dense.body.mode).toBe('dense');
    expect(dense.body.results).toHaveLength(3);
    dense.body.results.forEach((r: { score: number; legs: unknown }, i: number) => expect(r.legs).toEqual({ dense: { rank: i + 1, score: r.score } }));
    // A threshold without a mode keeps its pre-hybrid meaning: a dense similarity.
    const thresholded = await search({ query: 'statins cholesterol', k: 3, score_threshold: -1 });
    expect(thresholded.body.mode).toBe('dense');
    expect(thresholded.body.results.map((r: { id: string }) => r.id)).toEqual(dense.body.results.map((r: { id: string }) => r.id));
  });

  it('filters both legs', async () => {
    const res = await search({ query: 'brca1 cancer risk', k: 10, filter: { labels: ['models', 'cardio'] } });
    expect(res.body.results.length).toBeGreaterThan(0);
    expect(res.body.results.every((r: { labels: string[] }) => r.labels.some((l) => ['models', 'cardio'].includes(l)))).toBe(true);
    const lexical = await search({ query: 'brca1', mode: 'lexical', filter: { year: { gte: 2015 } } });
    expect(lexical.body.results.map((r: { id: string }) => r.id)).toEqual(['brca-mice']);
  });

  it('fuses by weighted scores or by reciprocal ranks, as asked; weight 1 is the dense order', async () => {
    const dense = await search({ query: 'sepsis vaccine', mode: 'dense', k: 5 });
    const allDense = await search({ query: 'sepsis vaccine', k: 5, fusion: { method: 'weighted', dense_weight: 1 } });
    expect(allDense.body.results.map((r: { id: string }) => r.id)).toEqual(dense.body.results.map((r: { id: string }) => r.id));
    const rrf = await search({ query: 'sepsis vaccine', k: 5, fusion: { method: 'rrf', rrf_k: 10 } });
    for (const r of rrf.body.results) {
      const want = (r.legs.dense ? 1 / (10 + r.legs.dense.rank) : 0) + (r.legs.lexical ? 1 / (10 + r.legs.lexical.rank) : 0);
      expect(r.score).toBeCloseTo(want, 10);
    }
    const page = await search({ query: 'sepsis vaccine', k: 2, offset: 1, fusion: { method: 'rrf', rrf_k: 10 } });
    expect(page.body.results.map((r: { id: string }) => r.id)).toEqual(rrf.body.results.slice(1, 3).map((r: { id: string }) => r.id));
  });

  it('fuses euclid distances the right way round (closer is better)', async () => {
    await h.call('POST', '/v1/collections', { name: 'far', distance: 'euclid' });
    await h.call('POST', '/v1/collections/far/documents', DOCS);
    await h.drain();
    const dense = await h.call('POST', '/v1/collections/far/search', { query: 'sepsis vaccine', mode: 'dense', k: 5 });
    const allDense = await h.call('POST', '/v1/collections/far/search', { query: 'sepsis vaccine', k: 5, fusion: { dense_weight: 1 } });
    expect(allDense.body.mode).toBe('hybrid');
    expect(allDense.body.results.map((r: { id: string }) => r.id)).toEqual(dense.body.results.map((r: { id: string }) => r.id));
    expect(allDense.body.results[0].legs.dense).toEqual({ rank: 1, score: dense.body.results[0].score });
  });

  it('names bad mode and fusion input', async () => {
    expectProblem(await search({ query: 'x', mode: 'bm25' }), '/mode');
    expectProblem(await search({ vector: Array(32).fill(0.1), mode: 'lexical' }), '/mode');
    expectProblem(await search({ like: 'brca', mode: 'hybrid' }), '/mode');
    expectProblem(await search({ query: 'x', fusion: { dense_weight: 2 } }), '/fusion/dense_weight');
    expectProblem(await search({ query: 'x', fusion: { method: 'sum' } }), '/fusion/method');
    expectProblem(await search({ query: 'x', fusion: { rrf_k: 0 } }), '/fusion/rrf_k');
    expectProblem(await search({ query: 'x', fusion: { weight: 0.5 } }), '/fusion');
  });

  it('keeps the lexical index in step with the catalog: a patch rewrites terms, a delete removes them', async () => {
    await h.call('POST', '/v1/collections/default/documents', [{ id: 'moving', text: 'zebrafish fin regeneration' }]);
    await h.drain();
    expect((await search({ query: 'zebrafish', mode: 'lexical' })).body.results.map((r: { id: string }) => r.id)).toEqual(['moving']);
    await h.call('PATCH', '/v1/collections/default/documents/moving', { text: 'axolotl limb regeneration' });
    await h.drain();
    expect((await search({ query: 'zebrafish', mode: 'lexical' })).body.results).toEqual([]);
    expect((await search({ query: 'axolotl', mode: 'lexical' })).body.results.map((r: { id: string }) => r.id)).toEqual(['moving']);
    expect((await h.call('DELETE', '/v1/collections/default/documents/moving')).status).toBe(204);
    await h.drain();
    expect((await search({ query: 'axolotl', mode: 'lexical' })).body.results).toEqual([]);
    expect((await search({ query: 'axolotl regeneration', k: 10 })).body.results.map((r: { id: string }) => r.id)).not.toContain('moving');
  });

  it('builds the lexical index of a collection made before it from the stored chunks, without re-embedding', async () => {
    await h.call('POST', '/v1/collections', { name: 'old' });
    await h.call('POST', '/v1/collections/old/documents', DOCS);
    await h.drain();
    // Make its index collection what an earlier biovec wrote: dense only, no terms.
    const collection = await getCollection(h.deps.db, 'old');
    await h.deps.index.dropCollection(collection.indexName);
    await h.deps.index.ensureCollection({ ...indexSpecFor(collection), lexical: false });
    const docs = await documentPage(h.deps.db, collection, 0, 100);
    const chunks = await chunksByDocument(h.deps.db, docs.map((d) => d.id));
    await h.deps.index.upsert(collection.indexName, docs.flatMap((d) => pointsFor(collection, d, chunks.get(d.id) ?? [])).map(({ terms: _terms, ...p }) => p));

    expect((await h.call('POST', '/v1/collections/old/search', { query: 'brca1' })).body.mode).toBe('dense');
    expectProblem(await h.call('POST', '/v1/collections/old/search', { query: 'brca1', mode: 'lexical' }), '/mode');
    const [before] = await reconcile({ db: h.deps.db, index: h.deps.index, repair: false, collection: 'old' });
    expect(before).toMatchObject({ lexical: false, stale: 0, missing: 0 });

    const embedded = embedder.embeddedTexts;
    expect(await h.deps.worker.buildLexicalIndexes()).toEqual(['old']);
    await h.drain();
    expect(embedder.embeddedTexts).toBe(embedded);
    const res = await h.call('POST', '/v1/collections/old/search', { query: 'brca1', mode: 'lexical' });
    expect(res.body.results.map((r: { id: string }) => r.id).sort()).toEqual(['brca', 'brca-mice']);
    expect((await h.call('POST', '/v1/collections/old/search', { query: 'brca1' })).body.mode).toBe('hybrid');
    const [after] = await reconcile({ db: h.deps.db, index: h.deps.index, repair: false, collection: 'old' });
    expect(after).toMatchObject({ lexical: true, stale: 0, missing: 0, orphans: 0 });
  });

  it('reconcile --repair finds points without terms as stale and rewrites them from the catalog', async () => {
    await h.call('POST', '/v1/collections', { name: 'drifted' });
    await h.call('POST', '/v1/collections/drifted/documents', DOCS);
    await h.drain();
    const collection = await getCollection(h.deps.db, 'drifted');
    const docs = await documentPage(h.deps.db, collection, 0, 100);
    const chunks = await chunksByDocument(h.deps.db, docs.map((d) => d.id));
    const [first] = pointsFor(collection, docs[0]!, chunks.get(docs[0]!.id) ?? []);
    await h.deps.index.upsert(collection.indexName, [{ ...first!, terms: undefined }]);
    const [report] = await reconcile({ db: h.deps.db, index: h.deps.index, repair: true, collection: 'drifted' });
    expect(report).toMatchObject({ lexical: true, stale: 1, repairedDocuments: 1 });
    await h.drain();
    const [clean] = await reconcile({ db: h.deps.db, index: h.deps.index, repair: false, collection: 'drifted' });
    expect(clean).toMatchObject({ stale: 0, missing: 0 });
  });
});
