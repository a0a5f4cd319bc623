// Issue 10 items 8 and 12: bad input answered 4xx (never 500), on PGlite and on Postgres,
// which refuse different things (Postgres text and jsonb refuse U+0000).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';
import { DATABASE_BACKENDS } from '../helpers/database.js';

function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, pointer?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  if (pointer) expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
}

const DEEP = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
const VECTOR = Array.from({ length: 32 }, (_, i) => (i % 3) / 10 + 0.05);

describe.each(DATABASE_BACKENDS)('hostile input on %s', (backend) => {
  let h: Harness;
  const docs = '/v1/collections/default/documents';
  beforeAll(async () => {
    h = await createHarness({ embedder: new HashEmbedder(32, 32), backend });
    const seeded = await h.call('POST', docs, [{ id: 'seed', title: 'Aspirin', text: 'aspirin inhibits platelets', metadata: { year: 2001 }, labels: ['pharma'] }]);
    expect(seeded.body.created).toBe(1);
    await h.drain();
  });
  afterAll(async () => h.close());

  it('fails a document with U+0000 in any field alone, naming the field, and stores the rest', async () => {
    const res = await h.call('POST', docs, [
      { id: 'a\u0000b', text: 'x' },
      { id: 'n1', text: 'x\u0000y' },
      { id: 'n2', title: 't\u0000', text: 'x' },
      { id: 'n3', text: 'x', metadata: { 'k\u0000': 1 } },
      { id: 'n4', text: 'x', metadata: { k: ['v\u0000'] } },
      { id: 'n5', text: 'x', labels: ['l\u0000'] },
      { id: 'n6', abstract: 'a\u0000' },
      { id: 'ok', text: 'metformin lowers hba1c' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 1, failed: 7 });
    const errors = res.body.results.map((r: { error?: string }) => r.error ?? '');
    ['/0/id', '/1/text', '/2/title', '/3/metadata/k\u0000', '/4/metadata/k/0', '/5/labels/0', '/6/abstract'].forEach((p, i) => expect(errors[i]).toContain(`${p}: `));
    expect(errors[0]).toContain('U+0000');
    expect(res.body.results[7].status).toBe('created');
  });

  it('refuses metadata nested beyond the depth limit (10,000 deep overflowed the stack) and a __proto__ key', async () => {
    const res = await h.call('POST', docs, `[{"id":"deep","text":"x","metadata":{"d":${DEEP}}},{"id":"proto","text":"x","metadata":{"__proto__":{"x":1}}},{"id":"ok32","text":"x","metadata":${'{"a":'.repeat(31)}1${'}'.repeat(31)}}]`);
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['failed', 'failed', 'created']);
    expect(res.body.results[0].error).toMatch(/^\/0\/metadata\/d(\/a){31}: nests deeper than 32 levels/);
    expect(res.body.results[1].error).toContain('/1/metadata/__proto__: is a reserved key');
    expectProblem(await h.call('PATCH', `${docs}/seed`, `{"metadata":{"d":${DEEP}}}`), 422, `/metadata/d${'/a'.repeat(31)}`);
    expectProblem(await h.call('PATCH', `${docs}/seed`, { title: 'T\u0000' }), 422, '/title');
    expectProblem(await h.call('PATCH', `${docs}/seed`, { metadata: { k: 'v\u0000' } }), 422, '/metadata/k');
  });

  it('reports an id given twice in one request once as written and once as failed', async () => {
    const res = await h.call('POST', docs, [{ id: 'twice', text: 'first' }, { id: 'twice', text: 'second' }]);
    expect(res.body).toMatchObject({ created: 1, failed: 1 });
    expect(res.body.results[1]).toMatchObject({ id: 'twice', status: 'failed', error: expect.stringContaining('duplicate id') });
    expect((await h.call('GET', `${docs}/twice`)).body.text).toBe('first');
  });

  it('answers 422 for U+0000 in path and query parameters', async () => {
    expectProblem(await h.call('GET', `${docs}/%00`), 422, '/id');
    expectProblem(await h.call('DELETE', `${docs}/a%00b`), 422, '/id');
    expectProblem(await h.call('GET', '/v1/collections/default/export?label_field=%00'), 422, '/label_field');
    expectProblem(await h.call('GET', '/v1/collections/default/export?labels=%00'), 422, '/labels');
  });

  it('refuses a blank integer query parameter instead of reading it as 0 (schemathesis ST201)', async () => {
    expectProblem(await h.call('GET', '/v1/collections/default/export?year_gte='), 422, '/year_gte');
    expectProblem(await h.call('GET', '/v1/collections/default/export?year_lte=%20'), 422, '/year_lte');
    const res = await h.call('GET', '/v1/collections/default/export?format=jsonl&year_gte=2001');
    expect(res.status).toBe(200);
  });

  it('answers 415 for a PATCH whose body is not JSON, and leaves the document alone', async () => {
    const res = await h.call('PATCH', `${docs}/seed`, '{"title":"changed"}', { 'content-type': 'text/plain' });
    expectProblem(res, 415);
    expect(res.body.type).toBe('/problems/unsupported-media-type');
    expect((await h.call('GET', `${docs}/seed`)).body.title).toBe('Aspirin');
    expectProblem(await h.call('PATCH', `${docs}/seed`, { title: 'x', nope: 1 }), 422);
  });

  it('refuses query vectors beyond float32, zero vectors under cosine, and never answers a null score', async () => {
    const search = '/v1/collections/default/search';
    expectProblem(await h.call('POST', search, { vector: VECTOR.map((v, i) => (i === 0 ? 1e39 : v)) }), 422, '/vector/0');
    expectProblem(await h.call('POST', search, { vector: VECTOR.map(() => 1e30) }), 422, '/vector');
    expectProblem(await h.call('POST', search, { vector: VECTOR.map(() => 0) }), 422, '/vector');
    const ok = await h.call('POST', search, { vector: VECTOR });
    expect(ok.status).toBe(200);
    expect(ok.body.results[0].score).toEqual(expect.any(Number));
  });

  it('refuses unknown filter keys and __proto__ instead of ignoring them (which matched everything)', async () => {
    const search = '/v1/collections/default/search';
    const v = JSON.stringify(VECTOR);
    expectProblem(await h.call('POST', search, { vector: VECTOR, filter: { label: ['pharma'] } }), 422, '/filter');
    expectProblem(await h.call('POST', search, `{"vector":${v},"filter":{"__proto__":{"labels":["x"]}}}`), 422, '/filter');
    expectProblem(await h.call('POST', search, `{"vector":${v},"filter":{"metadata":{"__proto__":"x"}}}`), 422, '/filter/metadata/__proto__');
    expectProblem(await h.call('POST', search, { vector: VECTOR, filter: { year: { gte: 2000, from: 1 } } }), 422, '/filter/year');
    expectProblem(await h.call('POST', search, { vector: VECTOR, filtre: {} }), 422);
    expectProblem(await h.call('POST', search, { vector: VECTOR, filter: { metadata: { k: 'a\u0000' } } }), 422, '/filter/metadata/k');
    expectProblem(await h.call('POST', search, { like: 'a\u0000' }), 422, '/like');
    expectProblem(await h.call('POST', search, { query: 'a\u0000b' }), 422, '/query');
    const filtered = await h.call('POST', search, { vector: VECTOR, filter: { metadata: { year: 2001 }, labels: ['pharma'] } });
    expect(filtered.body.results.map((r: { id: string }) => r.id)).toEqual(['seed']);
  });

  it('refuses invalid UTF-8 with 400 on every JSON route, naming the field', async () => {
    const bad = (json: string) => Buffer.concat([Buffer.from(json.slice(0, json.indexOf('@'))), Buffer.from([0xff, 0xfe]), Buffer.from(json.slice(json.indexOf('@') + 1))]);
    for (const [path, json, pointer] of [
      ['/v1/collections/default/search', '{"query":"a@"}', '/query'],
      ['/v1/embeddings', '{"input":["ok","b@"]}', '/input/1'],
      ['/embed', '{"inputs":"@"}', '/inputs'],
      ['/run', '[{"input":"@"}]', '/0/input'],
      ['/v1/collections', '{"name":"x@"}', '/name'],
      [docs, '[{"id":"u","text":"@"}]', '/0/text'],
      [`${docs}/seed`, '{"title":"@"}', '/title'],
    ] as const) {
      const res = await h.app.request(path, { method: path.endsWith('/seed') ? 'PATCH' : 'POST', body: bad(json), headers: { 'content-type': 'application/json' } });
      const body = (await res.json()) as { detail: string };
      expect(res.status, `${path}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.detail).toContain(`not valid UTF-8 (in ${pointer})`);
    }
    expectProblem(await h.call('POST', '/v1/embeddings', { input: ['ok', 'a\u0000'] }), 422, '/input/1');
  });

  it('answers 405 with Allow for a method a path does not have', async () => {
    const res = await h.call('PUT', '/v1/collections/default');
    expectProblem(res, 405);
    expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD');
    expectProblem(await h.call('GET', '/v1/nothing-here'), 404);
  });
});
