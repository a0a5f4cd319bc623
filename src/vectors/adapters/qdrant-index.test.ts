import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConflictError, InvalidInputError, NotFoundError, UpstreamUnavailableError } from '../../lib/errors.js';
import { runVectorIndexContract } from '../contract.case.js';
import { runLexicalContract } from '../contract-lexical.case.js';
import { QDRANT_VERIFIED_VERSION, QdrantIndex } from './qdrant-index.js';
import type { QdrantIndexOptions } from './qdrant-index.js';
import { toQdrantFilter } from './qdrant-filter.js';

const QDRANT_URL = process.env.QDRANT_URL;

describe.skipIf(!QDRANT_URL)(QDRANT_URL ? 'against the Qdrant at QDRANT_URL' : '(skipped: set QDRANT_URL to run against a real Qdrant)', () => {
  it('runs against the Qdrant release docker-compose.yml pins (else re-verify and move the pin)', async () => {
    const res = await fetch(`${QDRANT_URL!.replace(/\/+$/, '')}/`, { headers: process.env.QDRANT_API_KEY ? { 'api-key': process.env.QDRANT_API_KEY } : {} });
    expect(((await res.json()) as { version: string }).version).toBe(QDRANT_VERIFIED_VERSION);
  });

  runVectorIndexContract('qdrant', async () => ({
    index: new QdrantIndex({ url: QDRANT_URL!, apiKey: process.env.QDRANT_API_KEY, timeoutMs: 10_000 }),
    // Another client deletes it: the adapter's caches still believe in it.
    loseCollection: async (name: string) => {
      const res = await fetch(`${QDRANT_URL!.replace(/\/+$/, '')}/collections/${name}`, { method: 'DELETE', headers: process.env.QDRANT_API_KEY ? { 'api-key': process.env.QDRANT_API_KEY } : {} });
      if (!res.ok) throw new Error(`raw DELETE of ${name} answered ${res.status}`);
    },
    cleanup: async () => undefined,
  }));

  runLexicalContract('qdrant', async () => ({
    index: new QdrantIndex({ url: QDRANT_URL!, apiKey: process.env.QDRANT_API_KEY, timeoutMs: 10_000 }),
    loseCollection: async () => undefined,
    cleanup: async () => undefined,
  }));
});

// Everything below stubs fetch, the one seam @qdrant/js-client-rest 1.17 goes through in Node:
// its openapi-typescript-fetch layer calls the global `fetch` (with an undici dispatcher in
// `init`), so these tests exercise the real client, its middlewares and our translation.

const BASE = 'http://qdrant.test:6333';
const fetchMock = vi.fn<typeof fetch>();

function reply(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}
const ok = (result: unknown) => reply(200, { result, status: 'ok', time: 0.001 });
const fail = (status: number, error: string, headers: Record<string, string> = {}) => reply(status, { status: { error }, time: 0.001 }, headers);
const collection = (size: number, distance = 'Cosine', payloadSchema: Record<string, unknown> = {}) =>
  ok({ status: 'green', optimizer_status: 'ok', segments_count: 1, config: { params: { vectors: { size, distance } } }, payload_schema: payloadSchema });

function connectionRefused(): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6333'), { code: 'ECONNREFUSED' }) });
}

/** Method, URL and parsed JSON body of the n-th request the client sent. */
function sent(n: number): { method: string; url: string; body: unknown; headers: Headers } {
  const [input, init] = fetchMock.mock.calls[n]!;
  const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
  return { method: init?.method ?? 'GET', url: String(input), body, headers: new Headers(init?.headers) };
}

function makeIndex(options: Partial<QdrantIndexOptions> = {}): QdrantIndex {
  return new QdrantIndex({ url: BASE, timeoutMs: 2000, retry: { baseDelayMs: 1 }, ...options });
}

describe('QdrantIndex over a stubbed fetch', () => {
  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('retries a 503 and returns the answer that follows', async () => {
    fetchMock.mockResolvedValueOnce(fail(503, 'Service internal error: overloaded')).mockResolvedValueOnce(ok({ count: 7 }));
    await expect(makeIndex().count('docs')).resolves.toBe(7);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(sent(1)).toMatchObject({ method: 'POST', url: `${BASE}/collections/docs/points/count`, body: { exact: true } });
  });

  it('waits out the Retry-After of a 429 before trying again', async () => {
    fetchMock
      .mockResolvedValueOnce(fail(429, 'Rate limiting exceeded: Read rate limit exceeded', { 'retry-after': '1' }))
      .mockResolvedValueOnce(ok({ count: 3 }));
    const started = Date.now();
    await expect(makeIndex().count('docs')).resolves.toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('does not retry a 400 and reports it as invalid input with Qdrant\'s message', async () => {
    fetchMock.mockResolvedValue(fail(400, 'Wrong input: Index required but not found for "metadata.year"'));
    const err = await makeIndex().count('docs', { must: [{ key: 'metadata.year', range: { gte: 2000 } }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).detail).toContain('Index required but not found for "metadata.year"');
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('reports rejected credentials as the index being unavailable, without retrying', async () => {
    fetchMock.mockResolvedValue(reply(401, 'Must provide an API key or an Authorization bearer token'));
    await expect(makeIndex().count('docs')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('gives up on a refused connection after 4 attempts with UpstreamUnavailableError', async () => {
    fetchMock.mockImplementation(async () => { throw connectionRefused(); });
    const err = await makeIndex().count('docs').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as UpstreamUnavailableError).detail).toMatch(/unreachable: ECONNREFUSED/);
    expect(fetchMock).toHaveBeenCalledTimes(4);
  });

  it('turns the client timeout into UpstreamUnavailableError after retrying', async () => {
    fetchMock.mockImplementation((_input, init) => new Promise<Response>((_resolve, reject) => {
      init?.signal?.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
    }));
    const err = await makeIndex({ timeoutMs: 30, retry: { attempts: 2, baseDelayMs: 1, deadlineMs: 5000 } }).count('docs').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as UpstreamUnavailableError).detail).toMatch(/did not answer in time/);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('stops a pending retry wait on close()', async () => {
    fetchMock.mockResolvedValue(fail(429, 'Rate limiting exceeded', { 'retry-after': '5' }));
    const index = makeIndex({ retry: { deadlineMs: 60_000 } });
    const started = Date.now();
    const pending = index.count('docs').catch((e: unknown) => e);
    setTimeout(() => void index.close(), 50);
    expect(await pending).toBeInstanceOf(UpstreamUnavailableError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a wrong-dimension upsert without sending any points, naming both dims', async () => {
    fetchMock.mockImplementation(async () => collection(8));
    const index = makeIndex();
    const err = await index.upsert('docs', [{ id: 'a5f0c0de-0000-5000-8000-000000000001', vector: new Float32Array(5), payload: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).detail).toMatch(/expects 8 dims, got 5/);
    await expect(index.search('docs', { vector: new Float32Array(3), k: 1 })).rejects.toBeInstanceOf(InvalidInputError);
    // Only reads of the collection's shape went out; no upsert or query.
    for (let n = 0; n < fetchMock.mock.calls.length; n++) expect(sent(n)).toMatchObject({ method: 'GET', url: `${BASE}/collections/docs` });
  });

  it('maps a Qdrant dimension error on upsert to InvalidInputError', async () => {
    fetchMock.mockResolvedValueOnce(collection(8)).mockResolvedValueOnce(fail(400, 'Wrong input: Vector dimension error: expected dim: 16, got 8'));
    const err = await makeIndex().upsert('docs', [{ id: 'a5f0c0de-0000-5000-8000-000000000001', vector: new Float32Array(8), payload: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).detail).toMatch(/Vector dimension error: expected dim: 16, got 8/);
  });

  it('upserts in batches bounded by count, with wait=true and plain number arrays', async () => {
    fetchMock.mockResolvedValueOnce(collection(2)).mockImplementation(async () => ok({ operation_id: 1, status: 'completed' }));
    const points = Array.from({ length: 5 }, (_, i) => ({ id: `a5f0c0de-0000-5000-8000-00000000000${i}`, vector: Float32Array.of(i, 0.5), payload: { i } }));
    await makeIndex({ upsertBatchPoints: 2 }).upsert('docs', points);
    const writes = fetchMock.mock.calls.map((_, n) => sent(n)).filter((r) => r.method === 'PUT');
    expect(writes.map((w) => (w.body as { points: unknown[] }).points.length)).toEqual([2, 2, 1]);
    expect(writes[0]!.url).toBe(`${BASE}/collections/docs/points?wait=true`);
    expect(writes[0]!.body).toEqual({ points: [{ id: points[0]!.id, vector: [0, 0.5], payload: { i: 0 } }, { id: points[1]!.id, vector: [1, 0.5], payload: { i: 1 } }] });
  });

  it('reports a missing collection as NotFoundError, and as undefined from collectionInfo', async () => {
    fetchMock.mockImplementation(async () => fail(404, 'Not found: Collection `gone` doesn\'t exist!'));
    const index = makeIndex();
    const err = await index.upsert('gone', [{ id: 'a5f0c0de-0000-5000-8000-000000000001', vector: new Float32Array(8), payload: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).detail).toBe('collection gone not found');
    expect(await index.collectionInfo('gone')).toBeUndefined();
  });

  it('takes a collection another process created first (409) and still checks its shape', async () => {
    fetchMock
      .mockResolvedValueOnce(fail(404, 'Not found: Collection `docs` doesn\'t exist!'))
      .mockResolvedValueOnce(fail(409, 'Wrong input: Collection `docs` already exists!'))
      .mockResolvedValueOnce(collection(768, 'Cosine'));
    await makeIndex().ensureCollection({ name: 'docs', dims: 768, distance: 'cosine' });
    expect(sent(1)).toMatchObject({ method: 'PUT', url: `${BASE}/collections/docs`, body: { vectors: { size: 768, distance: 'Cosine' } } });

    fetchMock.mockReset().mockImplementation(async () => collection(768, 'Cosine'));
    const err = await makeIndex().ensureCollection({ name: 'docs', dims: 1024, distance: 'dot' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).detail).toBe('collection docs exists with 768 dims and cosine distance; requested 1024 dims and dot distance');
  });

  it('creates the collection with its cluster settings and the missing payload indexes', async () => {
    fetchMock
      .mockResolvedValueOnce(fail(404, 'Not found: Collection `docs` doesn\'t exist!'))
      .mockResolvedValueOnce(ok(true))
      .mockResolvedValueOnce(collection(8, 'Euclid', { document_id: { data_type: 'keyword', points: 0 } }))
      .mockResolvedValueOnce(ok({ operation_id: 2, status: 'completed' }));
    await makeIndex().ensureCollection({
      name: 'docs', dims: 8, distance: 'euclid', shardNumber: 2, replicationFactor: 2, writeConsistencyFactor: 1,
      payloadIndexes: [{ field: 'document_id', type: 'keyword' }, { field: 'metadata.year', type: 'integer' }],
    });
    expect(sent(1).body).toEqual({ vectors: { size: 8, distance: 'Euclid' }, shard_number: 2, replication_factor: 2, write_consistency_factor: 1 });
    expect(fetchMock).toHaveBeenCalledTimes(4);
    expect(sent(3)).toMatchObject({ method: 'PUT', url: `${BASE}/collections/docs/index?wait=true`, body: { field_name: 'metadata.year', field_schema: 'integer' } });
  });

  it('creates a lexical collection with a named IDF sparse vector and writes BM25 weights beside the unnamed dense vector', async () => {
    const lexical = ok({ status: 'green', optimizer_status: 'ok', segments_count: 1, config: { params: { vectors: { size: 2, distance: 'Cosine' }, sparse_vectors: { bm25: { modifier: 'idf' } } } }, payload_schema: {} });
    fetchMock.mockResolvedValueOnce(fail(404, 'Not found: Collection `docs` doesn\'t exist!')).mockResolvedValueOnce(ok(true)).mockResolvedValueOnce(lexical)
      .mockResolvedValueOnce(ok({ operation_id: 1, status: 'completed' }))
      .mockResolvedValueOnce(ok({ points: [{ id: 'a', version: 1, score: 1.5, payload: { document_id: 'd' } }] }));
    const index = makeIndex({ bm25: { k1: 1, b: 0.5, avgDocLength: 4 } });
    await index.ensureCollection({ name: 'docs', dims: 2, distance: 'cosine', lexical: true });
    expect(sent(1)).toMatchObject({ method: 'PUT', url: `${BASE}/collections/docs`, body: { vectors: { size: 2, distance: 'Cosine' }, sparse_vectors: { bm25: { modifier: 'idf' } } } });
    // tf 3 of 4 tokens: 3·2 / (3 + 1·(0.5 + 0.5·4/4)) = 1.5; tf 1: 2 / 2 = 1.
    await index.upsert('docs', [{ id: 'a', vector: Float32Array.from([1, 0]), payload: {}, terms: { indices: Uint32Array.from([7, 9]), values: Float32Array.from([3, 1]) } }]);
    expect(sent(3).body).toEqual({ points: [{ id: 'a', vector: { '': [1, 0], bm25: { indices: [7, 9], values: [1.5, 1] } }, payload: {} }] });
    const hits = await index.searchLexical('docs', { terms: { indices: Uint32Array.from([7]), values: Float32Array.from([2]) }, k: 5, offset: 1 });
    expect(sent(4).body).toMatchObject({ query: { indices: [7], values: [2] }, using: 'bm25', limit: 5, offset: 1, with_payload: true });
    expect(hits).toEqual([{ id: 'a', score: 1.5, payload: { document_id: 'd' } }]);
  });

  it('writes plain dense points into a collection made before the lexical index, and refuses lexical search on it', async () => {
    fetchMock.mockResolvedValueOnce(collection(2)).mockResolvedValueOnce(ok({ operation_id: 1, status: 'completed' }));
    const index = makeIndex();
    await index.upsert('old', [{ id: 'a', vector: Float32Array.from([1, 0]), payload: {}, terms: { indices: Uint32Array.from([7]), values: Float32Array.from([1]) } }]);
    expect(sent(1).body).toEqual({ points: [{ id: 'a', vector: [1, 0], payload: {} }] });
    // The shape read before the upsert is cached: refused without another request.
    await expect(index.searchLexical('old', { terms: { indices: Uint32Array.from([7]), values: Float32Array.from([1]) }, k: 5 })).rejects.toBeInstanceOf(InvalidInputError);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('moves an alias with one delete+create request', async () => {
    fetchMock
      .mockResolvedValueOnce(ok({ aliases: [{ alias_name: 'live', collection_name: 'docs_v1' }] }))
      .mockResolvedValueOnce(collection(8))
      .mockResolvedValueOnce(ok(true));
    await makeIndex().setAlias('live', 'docs_v2');
    expect(sent(2)).toMatchObject({
      method: 'POST',
      url: `${BASE}/collections/aliases`,
      body: { actions: [{ delete_alias: { alias_name: 'live' } }, { create_alias: { collection_name: 'docs_v2', alias_name: 'live' } }] },
    });
  });

  it('drops an alias, not the collection behind it; dropping an absent name is fine', async () => {
    fetchMock.mockResolvedValueOnce(ok({ aliases: [{ alias_name: 'live', collection_name: 'docs_v1' }] })).mockResolvedValueOnce(ok(true));
    const index = makeIndex();
    await index.dropCollection('live');
    expect(sent(1).body).toEqual({ actions: [{ delete_alias: { alias_name: 'live' } }] });

    fetchMock.mockReset().mockResolvedValueOnce(ok({ aliases: [] })).mockResolvedValueOnce(fail(404, 'Not found: Collection `old` doesn\'t exist!'));
    await index.dropCollection('old');
    expect(sent(1)).toMatchObject({ method: 'DELETE', url: `${BASE}/collections/old` });
  });

  it('sends a query request with the filter, paging and threshold, and reads hits back', async () => {
    fetchMock.mockResolvedValueOnce(collection(2)).mockResolvedValueOnce(ok({ points: [
      { id: 'a5f0c0de-0000-5000-8000-000000000001', version: 3, score: 0.93, payload: { document_id: 'd1' } },
      { id: 'a5f0c0de-0000-5000-8000-000000000002', version: 3, score: 0.5, payload: { document_id: 'd2' } },
      { id: 'a5f0c0de-0000-5000-8000-000000000003', version: 3, score: 0.499999, payload: { document_id: 'd3' } },
    ] }));
    const hits = await makeIndex().search('docs', { vector: Float32Array.of(0.25, -1), k: 5, offset: 10, scoreThreshold: 0.5, filter: { must: [{ key: 'labels', match: 'cancer' }] } });
    // Inclusive: the hit exactly at 0.5 stays; the one just under, which the relaxed query let through, goes.
    expect(hits.map((h) => h.score)).toEqual([0.93, 0.5]);
    expect(hits[0]).toEqual({ id: 'a5f0c0de-0000-5000-8000-000000000001', score: 0.93, payload: { document_id: 'd1' } });
    expect(sent(1)).toMatchObject({
      method: 'POST',
      url: `${BASE}/collections/docs/points/query`,
      body: { query: [0.25, -1], limit: 5, offset: 10, with_payload: true, filter: { must: [{ key: 'labels', match: { value: 'cancer' } }] } },
    });
    const sentThreshold = (sent(1).body as { score_threshold: number }).score_threshold;
    expect(sentThreshold).toBeLessThan(0.5);
    expect(sentThreshold).toBeGreaterThan(0.4999);
  });

  it('relaxes a distance threshold upwards and keeps hits at most that far', async () => {
    fetchMock.mockResolvedValueOnce(collection(2, 'Euclid')).mockResolvedValueOnce(ok({ points: [
      { id: 'a5f0c0de-0000-5000-8000-000000000001', version: 1, score: 1.5, payload: {} },
      { id: 'a5f0c0de-0000-5000-8000-000000000002', version: 1, score: 2, payload: {} },
      { id: 'a5f0c0de-0000-5000-8000-000000000003', version: 1, score: 2.00001, payload: {} },
    ] }));
    const hits = await makeIndex().search('docs', { vector: Float32Array.of(0.25, -1), k: 5, scoreThreshold: 2 });
    expect(hits.map((h) => h.score)).toEqual([1.5, 2]);
    expect((sent(1).body as { score_threshold: number }).score_threshold).toBeGreaterThan(2);
  });

  it('asks for uncompressed answers, which Qdrant sends without the chunked-gzip stall', async () => {
    fetchMock.mockResolvedValueOnce(ok({ count: 0 }));
    await makeIndex().count('docs');
    expect(sent(0).headers.get('accept-encoding')).toBe('identity');
  });

  it('forgets a cached collection shape on a 404, so a re-created collection is read afresh', async () => {
    fetchMock
      .mockResolvedValueOnce(collection(2, 'Cosine'))
      .mockResolvedValueOnce(ok({ operation_id: 1, status: 'completed' }))
      .mockResolvedValueOnce(fail(404, 'Not found: Collection `docs` doesn\'t exist!'))
      .mockResolvedValueOnce(collection(2, 'Euclid'))
      .mockResolvedValueOnce(ok({ points: [] }));
    const index = makeIndex();
    await index.upsert('docs', [{ id: 'a5f0c0de-0000-5000-8000-000000000001', vector: Float32Array.of(0.5, 0.5), payload: {} }]);
    const query = { vector: Float32Array.of(1, 0), k: 3, scoreThreshold: 2 };
    await expect(index.search('docs', query)).rejects.toBeInstanceOf(NotFoundError);
    // Re-created elsewhere as a euclid collection of the same dims: read again, not taken from memory.
    await index.search('docs', query);
    expect(sent(3)).toMatchObject({ method: 'GET', url: `${BASE}/collections/docs` });
    expect((sent(4).body as { score_threshold: number }).score_threshold).toBeGreaterThan(2);
  });

  it('scrolls page by page with next_page_offset and returns Float32Array vectors', async () => {
    fetchMock
      .mockResolvedValueOnce(ok({ points: [{ id: 'p1', payload: { a: 1 }, vector: [0.5, 1] }], next_page_offset: 'p2' }))
      .mockResolvedValueOnce(ok({ points: [{ id: 'p2', payload: { a: 2 }, vector: [1, 0] }], next_page_offset: null }));
    const batches = [];
    for await (const batch of makeIndex().iterate('docs', { batchSize: 1, withVectors: true })) batches.push(batch);
    expect(batches).toEqual([[{ id: 'p1', payload: { a: 1 }, vector: Float32Array.of(0.5, 1) }], [{ id: 'p2', payload: { a: 2 }, vector: Float32Array.of(1, 0) }]]);
    expect(sent(0).body).toEqual({ limit: 1, with_payload: true, with_vector: true });
    expect(sent(1).body).toMatchObject({ offset: 'p2' });
  });

  it('keeps a URL path as the prefix, leaves the port as written and sends the API key', async () => {
    fetchMock.mockResolvedValueOnce(ok({ count: 0 }));
    await makeIndex({ url: 'https://proxy.test/qdrant/', apiKey: 'secret' }).count('docs');
    expect(sent(0).url).toBe('https://proxy.test/qdrant/collections/docs/points/count');
    expect(sent(0).headers.get('api-key')).toBe('secret');
  });
});

describe('toQdrantFilter', () => {
  it('maps equality, any-of, ranges, booleans and nested keys to Qdrant\'s filter JSON', () => {
    expect(toQdrantFilter({
      must: [
        { key: 'metadata.journal', match: 'Lancet' },
        { key: 'metadata.open_access', match: true },
        { key: 'chunk_index', match: 0 },
        { key: 'labels', any: ['oncology', 'neurology'] },
        { key: 'metadata.year', any: [2001, 2002] },
        { key: 'metadata.year', range: { gte: 2005, lte: 2010 } },
        { key: 'metadata.year', range: { gt: 2020 } },
      ],
    })).toEqual({
      must: [
        { key: 'metadata.journal', match: { value: 'Lancet' } },
        { key: 'metadata.open_access', match: { value: true } },
        { key: 'chunk_index', match: { value: 0 } },
        { key: 'labels', match: { any: ['oncology', 'neurology'] } },
        { key: 'metadata.year', match: { any: [2001, 2002] } },
        { key: 'metadata.year', range: { gte: 2005, lte: 2010 } },
        { key: 'metadata.year', range: { gt: 2020 } },
      ],
    });
  });

  it('matches fractional numbers as a closed range, since match.value takes integers only', () => {
    expect(toQdrantFilter({ must: [{ key: 'score', match: 0.5 }] })).toEqual({ must: [{ key: 'score', range: { gte: 0.5, lte: 0.5 } }] });
  });

  it('splits a mixed any-of into an OR of one list per kind', () => {
    expect(toQdrantFilter({ must: [{ key: 'code', any: ['A1', 7, 2.5] }] })).toEqual({
      must: [{ should: [{ key: 'code', match: { any: ['A1'] } }, { key: 'code', match: { any: [7] } }, { key: 'code', range: { gte: 2.5, lte: 2.5 } }] }],
    });
  });

  it('passes no filter through as none', () => {
    expect(toQdrantFilter(undefined)).toBeUndefined();
  });
});
