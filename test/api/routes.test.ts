import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { OverloadedError } from '../../src/lib/errors.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';

function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, type: string, pointer?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({ type: `/problems/${type}`, status, requestId: expect.any(String), instance: expect.any(String), detail: expect.any(String) });
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/); // never a stack trace
  if (pointer) expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
}

describe('HTTP API routes (hash embedder double, PGlite, embedded index)', () => {
  let h: Harness;
  const embedder = new HashEmbedder(32, 32);
  beforeAll(async () => {
    h = await createHarness({ embedder, limits: { maxDocumentsPerRequest: 5, maxBodyBytes: 64 * 1024 } });
  });
  afterAll(async () => h.close());

  describe('collections', () => {
    it('creates (idempotently), lists, gets and deletes', async () => {
      const created = await h.call('POST', '/v1/collections', { name: 'papers', chunk_overlap: 4 });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'papers', model: { id: 'test/hash-embedder', pooling: 'mean', dims: 32 }, distance: 'cosine', chunk_overlap: 4, documents: 0 });
      expect((await h.call('POST', '/v1/collections', { name: 'papers', chunk_overlap: 4 })).status).toBe(201);
      expect((await h.call('GET', '/v1/collections')).body.collections.map((c: { name: string }) => c.name)).toEqual(['default', 'papers']);
      expect((await h.call('GET', '/v1/collections/papers')).body.name).toBe('papers');
      expect((await h.call('DELETE', '/v1/collections/papers')).status).toBe(204);
      expectProblem(await h.call('GET', '/v1/collections/papers'), 404, 'not-found');
    });

    it('names the bad field and refuses conflicting settings', async () => {
      expectProblem(await h.call('POST', '/v1/collections', { name: 'bad name!' }), 422, 'invalid-input', '/name');
      expectProblem(await h.call('POST', '/v1/collections', { name: 'x', chunk_overlap: 100 }), 422, 'invalid-input', '/chunk_overlap');
      await h.call('POST', '/v1/collections', { name: 'dup', distance: 'dot' });
      expectProblem(await h.call('POST', '/v1/collections', { name: 'dup', distance: 'euclid' }), 409, 'conflict');
      expectProblem(await h.call('DELETE', '/v1/collections/nope'), 404, 'not-found');
      expectProblem(await h.call('POST', '/v1/collections', '{"name":'), 400, 'malformed');
    });
  });

  describe('documents', () => {
    it('ingests JSON and NDJSON, answering per document', async () => {
      const res = await h.call('POST', '/v1/collections/default/documents', [
        { id: 'd1', title: 'Aspirin', text: 'aspirin inhibits platelet aggregation', metadata: { year: 2001, journal: 'Lancet' }, labels: ['pharma'] },
        { id: 2, abstract: 'brca1 germline mutations and breast cancer', labels: ['oncology'] },
        { id: 'd3', text: '' },
        { text: 'no id' },
      ]);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ created: 2, failed: 2, updated: 0, unchanged: 0 });
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['created', 'created', 'failed', 'failed']);
      expect(res.body.results[3].error).toMatch(/\/3\/id/);
      const nd = await h.call('POST', '/v1/collections/default/documents', '{"id":"d4","text":"metformin lowers hba1c"}\n\n{"id":"d1","title":"Aspirin","text":"aspirin inhibits platelet aggregation","metadata":{"year":2001,"journal":"Lancet"},"labels":["pharma"]}\n', { 'content-type': 'application/x-ndjson' });
      expect(nd.body.results.map((r: { status: string }) => r.status)).toEqual(['created', 'unchanged']);
    });

    it('gets, patches (metadata only: no embedding) and deletes a document', async () => {
      const got = await h.call('GET', '/v1/collections/default/documents/d1?include=vectors');
      expect(got.body).toMatchObject({ id: 'd1', title: 'Aspirin', metadata: { year: 2001 }, labels: ['pharma'] });
      expect(got.body.chunks[0].vector).toHaveLength(32);
      const before = embedder.embeddedTexts;
      const patched = await h.call('PATCH', '/v1/collections/default/documents/d1', { labels: ['pharma', 'cardio'], metadata: { journal: 'BMJ' } });
      expect(patched.body).toEqual({ id: 'd1', status: 'updated', chunks: 0 });
      expect(embedder.embeddedTexts).toBe(before);
      expect((await h.call('GET', '/v1/collections/default/documents/d1')).body.metadata).toEqual({ year: 2001, journal: 'BMJ' });
      expect((await h.call('PATCH', '/v1/collections/default/documents/d1', { text: 'aspirin and platelets' })).body.chunks).toBe(1);
      expect((await h.call('DELETE', '/v1/collections/default/documents/d4')).status).toBe(204);
      expectProblem(await h.call('GET', '/v1/collections/default/documents/d4'), 404, 'not-found');
    });

    it('refuses bad bodies with problem+json', async () => {
      expectProblem(await h.call('POST', '/v1/collections/default/documents', '[{"id":'), 400, 'malformed');
      expectProblem(await h.call('POST', '/v1/collections/default/documents', { id: 'x' }), 422, 'invalid-input', '/');
      expectProblem(await h.call('POST', '/v1/collections/default/documents', []), 422, 'invalid-input');
      expectProblem(await h.call('POST', '/v1/collections/default/documents', Array.from({ length: 6 }, (_, i) => ({ id: `${i}`, text: 'x' }))), 413, 'payload-too-large');
      expectProblem(await h.call('POST', '/v1/collections/default/documents', [{ id: 'big', text: 'x'.repeat(70 * 1024) }]), 413, 'payload-too-large');
      expectProblem(await h.call('POST', '/v1/collections/nope/documents', [{ id: 'a', text: 'b' }]), 404, 'not-found');
      expectProblem(await h.call('PATCH', '/v1/collections/default/documents/d1', { labels: 'pharma' }), 422, 'invalid-input', '/labels');
      expectProblem(await h.call('PATCH', '/v1/collections/default/documents/d1', { title: null, text: ' ' }), 422, 'invalid-input');
      expectProblem(await h.call('PATCH', '/v1/collections/default/documents/zzz', { labels: [] }), 404, 'not-found');
      expectProblem(await h.call('DELETE', '/v1/collections/default/documents/zzz'), 404, 'not-found');
      const invalidUtf8 = await h.app.request('/v1/collections/default/documents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x5b, 0xff, 0x5d]) });
      expect(invalidUtf8.status).toBe(400);
    });
  });

  describe('search', () => {
    beforeAll(async () => {
      await h.call('POST', '/v1/collections/default/documents', [
        { id: 's1', title: 'Statins', text: 'statins lower ldl cholesterol', metadata: { year: 2010, journal: 'Cell' }, labels: ['cardio'] },
        { id: 's2', text: 'statins and muscle pain', metadata: { year: 2015, journal: 'BMJ' }, labels: ['cardio', 'safety'] },
        { id: 's3', text: 'insulin resistance in obesity', metadata: { year: 2018, journal: 'Cell' }, labels: ['endocrine'] },
      ]);
      await h.drain();
    });

    it('finds by text with the best chunk, filters, pages and thresholds', async () => {
      const res = await h.call('POST', '/v1/collections/default/search', { query: 'statins cholesterol', k: 3 });
      expect(res.status).toBe(200);
      expect(res.body.results[0]).toMatchObject({ id: 's1', title: 'Statins', labels: ['cardio'], chunk: { index: 0, start: 0 } });
      expect(res.body.results[0].chunk.text).toContain('statins lower ldl');
      const filtered = await h.call('POST', '/v1/collections/default/search', { query: 'statins', k: 10, filter: { metadata: { journal: 'BMJ' }, labels: ['safety'], year: { gte: 2011 } } });
      expect(filtered.body.results.map((r: { id: string }) => r.id)).toEqual(['s2']);
      const anyOf = await h.call('POST', '/v1/collections/default/search', { query: 'statins', k: 10, filter: { metadata: { journal: ['Cell', 'BMJ'] }, year: { lte: 2016 } } });
      expect(anyOf.body.results.map((r: { id: string }) => r.id).sort()).toEqual(['d1', 's1', 's2']); // d1 was re-filed under BMJ, 2001
      const page = await h.call('POST', '/v1/collections/default/search', { query: 'statins', k: 1, offset: 1 });
      expect(page.body.results).toHaveLength(1);
      const high = await h.call('POST', '/v1/collections/default/search', { query: 'statins cholesterol', k: 10, score_threshold: 0.99 });
      expect(high.body.results).toEqual([]);
    });

    it('finds by vector and like a document (excluding itself)', async () => {
      const doc = await h.call('GET', '/v1/collections/default/documents/s1?include=vectors');
      const byVector = await h.call('POST', '/v1/collections/default/search', { vector: doc.body.chunks[0].vector, k: 1 });
      expect(byVector.body.results[0].id).toBe('s1');
      const like = await h.call('POST', '/v1/collections/default/search', { like: 's1', k: 2 });
      expect(like.body.results.map((r: { id: string }) => r.id)).not.toContain('s1');
      expect(like.body.results[0].id).toBe('s2');
    });

    it('names bad search input', async () => {
      expectProblem(await h.call('POST', '/v1/collections/default/search', { k: 5 }), 422, 'invalid-input', '/query');
      expectProblem(await h.call('POST', '/v1/collections/default/search', { query: 'x', k: 1001 }), 422, 'invalid-input', '/k');
      expectProblem(await h.call('POST', '/v1/collections/default/search', { vector: [1, 2, 3] }), 422, 'invalid-input', '/vector');
      expectProblem(await h.call('POST', '/v1/collections/default/search', { query: 'x', filter: { year: { gte: 'old' } } }), 422, 'invalid-input', '/filter/year/gte');
      expectProblem(await h.call('POST', '/v1/collections/default/search', { like: 'missing' }), 422, 'invalid-input', '/like');
      expectProblem(await h.call('POST', '/v1/collections/nope/search', { query: 'x' }), 404, 'not-found');
    });

    it('answers 429 with Retry-After when the embedding queue is full', async () => {
      const original = embedder.embed.bind(embedder);
      embedder.embed = async () => { throw new OverloadedError('embedding queue is full', 3); };
      try {
        const res = await h.call('POST', '/v1/collections/default/search', { query: 'statins' });
        expectProblem(res, 429, 'overloaded');
        expect(res.headers.get('retry-after')).toBe('3');
      } finally {
        embedder.embed = original;
      }
    });
  });

  describe('embedding endpoints', () => {
    it('OpenAI-compatible: float and base64, usage, bad input', async () => {
      const res = await h.call('POST', '/v1/embeddings', { input: ['aspirin', 'statins and ldl'] });
      expect(res.body).toMatchObject({ object: 'list', model: 'test/hash-embedder', usage: { prompt_tokens: expect.any(Number) } });
      expect(res.body.data[1]).toMatchObject({ object: 'embedding', index: 1 });
      const b64 = await h.call('POST', '/v1/embeddings', { input: 'aspirin', encoding_format: 'base64' });
      const bytes = Buffer.from(b64.body.data[0].embedding, 'base64');
      expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 32))).toEqual(res.body.data[0].embedding.map((x: number) => Math.fround(x)));
      expectProblem(await h.call('POST', '/v1/embeddings', { input: ['ok', ''] }), 422, 'invalid-input', '/input/1');
      // One model is served: any name is accepted and the answer names the served one (issue 12).
      expect((await h.call('POST', '/v1/embeddings', { input: 'x', model: 'other/model' })).body.model).toBe('test/hash-embedder');
      expectProblem(await h.call('POST', '/v1/embeddings', { input: 42 }), 422, 'invalid-input', '/input');
    });

    it('TEI /embed and Ersilia /run', async () => {
      const tei = await h.call('POST', '/embed', { inputs: ['aspirin', 'statins'] });
      expect(tei.body).toHaveLength(2);
      expect(tei.body[0]).toHaveLength(32);
      expectProblem(await h.call('POST', '/embed', { inputs: [] }), 422, 'invalid-input', '/inputs');
      const run = await h.call('POST', '/run', [{ input: 'aspirin' }]);
      expect(run.body.result[0]).toMatchObject({ input: 'aspirin', outcome: tei.body[0] });
      expectProblem(await h.call('POST', '/run', [{ input: '  ' }]), 422, 'invalid-input', '/0/input');
      expectProblem(await h.call('POST', '/run', { input: 'x' }), 422, 'invalid-input');
    });
  });

  describe('operations and docs', () => {
    it('refuses a bad export request before streaming anything', async () => {
      expectProblem(await h.call('GET', '/v1/collections/default/export?format=csv&label_field=key'), 422, 'invalid-input');
      expectProblem(await h.call('GET', '/v1/collections/default/export?format=xml'), 422, 'invalid-input', '/format');
      expectProblem(await h.call('GET', '/v1/collections/nope/export'), 404, 'not-found');
    });

    it('health, ready, info, openapi, docs, unknown routes', async () => {
      expect((await h.call('GET', '/health')).body).toEqual({ status: 'ok' });
      expect((await h.call('GET', '/ready')).body.status).toBe('ready');
      expect((await h.call('GET', '/info')).body.model).toMatchObject({ id: 'test/hash-embedder', dims: 32 });
      const spec = (await h.call('GET', '/openapi.json')).body;
      expect(spec.openapi).toBe('3.1.0');
      expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/collections', '/v1/collections/{name}/documents', '/v1/collections/{name}/search', '/v1/embeddings', '/embed', '/run', '/ready']));
      expect(spec.components.schemas).toHaveProperty('DocumentInput');
      expect((await h.app.request('/docs')).status).toBe(200);
      expectProblem(await h.call('GET', '/v1/nothing'), 404, 'not-found');
      const withId = await h.app.request('/health', { headers: { 'x-request-id': 'abc-123' } });
      expect(withId.headers.get('x-request-id')).toBe('abc-123');
    });
  });
});

describe('model prompts over HTTP (a hash embedder with a query prompt)', () => {
  let h: Harness;
  const embedder = new HashEmbedder(32, 32);
  embedder.info.prompts = { query: 'findings about ', document: '' };
  beforeAll(async () => {
    h = await createHarness({ embedder });
  });
  afterAll(async () => h.close());

  it('put the query prompt before texts only when asked (input_type, prompt_name)', async () => {
    const typed = (await h.call('POST', '/v1/embeddings', { input: 'findings about aspirin' })).body.data[0].embedding;
    const plain = (await h.call('POST', '/v1/embeddings', { input: 'aspirin' })).body.data[0].embedding;
    const asQuery = await h.call('POST', '/v1/embeddings', { input: 'aspirin', input_type: 'query' });
    expect(asQuery.body.data[0].embedding).toEqual(typed);
    expect(asQuery.body.data[0].embedding).not.toEqual(plain);
    expect(asQuery.body.usage.prompt_tokens).toBe(5);
    expect((await h.call('POST', '/embed', { inputs: ['aspirin'], prompt_name: 'query' })).body[0]).toEqual(typed);
    expect((await h.call('POST', '/embed', { inputs: ['aspirin'], prompt_name: 'document' })).body[0]).toEqual(plain);
    expectProblem(await h.call('POST', '/v1/embeddings', { input: 'aspirin', input_type: 'passage' }), 422, 'invalid-input', '/input_type');
  });

  it('bind a collection to the prompts, and search embeds queries with its query prompt', async () => {
    const created = await h.call('POST', '/v1/collections', { name: 'prompted' });
    expect(created.body.model.prompts).toEqual({ query: 'findings about ', document: '' });
    await h.call('POST', '/v1/collections/prompted/documents', [{ id: 'a', text: 'aspirin and platelets' }]);
    await h.drain();
    const res = await h.call('POST', '/v1/collections/prompted/search', { query: 'aspirin', k: 1 });
    expect(res.status).toBe(200);
    expect(res.body.query_tokens).toBe(5); // "findings about aspirin" with two special tokens
    expect(res.body.results[0].id).toBe('a');
  });
});
