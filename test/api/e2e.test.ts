import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Chunk, Embedder } from '../../src/embedding/embedder.js';
import { loadEmbedder } from '../../src/embedding/load-embedder.js';
import { createHarness, waitForJob, type Harness } from '../helpers/app-harness.js';
import { SHARED_DIR, SHARED_REASON, fixtureModel } from '../helpers/fixtures.js';

const SCIFACT = join(SHARED_DIR, 'data', 'scifact', 'corpus.jsonl.gz');
const PUBMED = join(SHARED_DIR, 'data', 'pubmed', 'nlm_samples', 'pubmedsample_2019.xml.gz');
const HAS_DATA = existsSync(SCIFACT) && existsSync(PUBMED);

/** Counts chunks embedded, to prove what re-ingesting does and does not embed. */
function counting(inner: Embedder): Embedder & { chunksEmbedded: number } {
  const wrapper = Object.create(inner) as Embedder & { chunksEmbedded: number };
  wrapper.chunksEmbedded = 0;
  wrapper.embedChunks = async (chunks: Chunk[], options) => {
    wrapper.chunksEmbedded += chunks.length;
    return inner.embedChunks(chunks, options);
  };
  return wrapper;
}


describe.skipIf(!HAS_DATA)(`end to end on real biomedical text with a real ONNX model (tiny RoBERTa)${HAS_DATA ? '' : ` (skipped: ${SHARED_REASON})`}`, () => {
  let h: Harness;
  let embedder: Embedder & { chunksEmbedded: number };
  let docs: { id: string; title: string; text: string }[];

  beforeAll(async () => {
    const real = await loadEmbedder(loadConfig({}, { model: fixtureModel('tiny-roberta'), threads: 1, hfHubOffline: true, cacheDir: join(tmpdir(), 'biovec-e2e-cache') }));
    embedder = counting(real);
    h = await createHarness({ embedder });
    const lines = gunzipSync(await readFile(SCIFACT)).toString('utf8').trim().split('\n').slice(0, 120);
    docs = lines.map((l) => {
      const d = JSON.parse(l) as { _id: string; title: string; text: string };
      return { id: d._id, title: d.title, text: d.text };
    });
  });
  afterAll(async () => {
    await h?.close();
    await embedder?.close();
  });

  it('imports SciFact abstracts as NDJSON and PubMed XML as jobs, with progress', async () => {
    const ndjson = docs.map((d, i) => JSON.stringify({ _id: d.id, title: d.title, text: d.text, labels: [i % 2 ? 'odd' : 'even'], year: 2000 + (i % 20) })).join('\n');
    const res = await h.app.request('/v1/collections/default/imports', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ndjson });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toMatch(/^\/v1\/jobs\//);
    const job = await waitForJob(h, ((await res.json()) as { id: string }).id);
    expect(job).toMatchObject({ status: 'completed', done: 120, failed: 0, created: 120, progress: 1 });
    expect(job.rate_per_s).toBeGreaterThan(0);

    const xml = await h.app.request('/v1/collections/default/imports?format=pubmed', { method: 'POST', body: await readFile(PUBMED) });
    const xmlJob = await waitForJob(h, ((await xml.json()) as { id: string }).id);
    expect(xmlJob).toMatchObject({ status: 'completed', done: 176, failed: 0 });
    await h.drain();
    const pubmedDoc = (await h.call('GET', '/v1/collections/default/documents/' + (await firstPmid()))).body;
    expect(pubmedDoc.metadata).toMatchObject({ journal: expect.any(String), mesh: expect.any(Array) });
  }, 300_000);

  it('searches the corpus: a document\'s own title finds it first', async () => {
    const target = docs[7]!;
    const res = await h.call('POST', '/v1/collections/default/search', { query: `${target.title} ${target.text.slice(0, 300)}`, k: 5 });
    expect(res.status).toBe(200);
    expect(res.body.results[0].id).toBe(target.id);
    const filtered = await h.call('POST', '/v1/collections/default/search', { query: target.title, k: 5, filter: { labels: ['odd'] } });
    expect(filtered.body.results.every((r: { labels: string[] }) => r.labels.includes('odd'))).toBe(true);
  });

  it('re-ingesting unchanged embeds nothing; a text change re-embeds one; a delete removes it from search and export', async () => {
    const before = embedder.chunksEmbedded;
    const again = await h.call('POST', '/v1/collections/default/documents', docs.slice(0, 50).map((d, i) => ({ id: d.id, title: d.title, text: d.text, labels: [i % 2 ? 'odd' : 'even'], metadata: { year: 2000 + (i % 20) } })));
    expect(again.body.unchanged).toBe(50);
    expect(embedder.chunksEmbedded).toBe(before);

    const changed = await h.call('POST', '/v1/collections/default/documents', [{ id: docs[0]!.id, title: docs[0]!.title, text: `${docs[0]!.text} Updated.`, labels: ['even'], metadata: { year: 2000 } }]);
    expect(changed.body.results[0].status).toBe('updated');
    expect(embedder.chunksEmbedded).toBeGreaterThan(before);

    const victim = docs[7]!;
    expect((await h.call('DELETE', `/v1/collections/default/documents/${victim.id}`)).status).toBe(204);
    await h.drain();
    const res = await h.call('POST', '/v1/collections/default/search', { query: `${victim.title} ${victim.text.slice(0, 300)}`, k: 20 });
    expect(res.body.results.map((r: { id: string }) => r.id)).not.toContain(victim.id);
    const csv = await (await h.app.request('/v1/collections/default/export?format=csv')).text();
    expect(csv).not.toContain(`\n${victim.id},`);
  });

  it('exports classification-ready vectors: Ersilia CSV, NPY with ids sidecar, filtered by label', async () => {
    const csvRes = await h.app.request('/v1/collections/default/export?format=csv&labels=odd');
    expect(csvRes.headers.get('content-type')).toContain('text/csv');
    const rows = parse(await csvRes.text(), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!).slice(0, 4)).toEqual(['key', 'input', 'dim_000', 'dim_001']);
    expect(rows.every((r) => r.label === 'odd')).toBe(true);
    expect(rows.length).toBe(Number(csvRes.headers.get('x-export-rows')));

    const npy = Buffer.from(await (await h.app.request('/v1/collections/default/export?format=npy')).arrayBuffer());
    expect(npy.subarray(1, 6).toString()).toBe('NUMPY');
    const headerLen = npy.readUInt16LE(8);
    const shape = /'shape': \((\d+), (\d+)\)/.exec(npy.subarray(10, 10 + headerLen).toString())!;
    const ids = parse(await (await h.app.request('/v1/collections/default/export?format=ids')).text(), { columns: true }) as Record<string, string>[];
    expect(Number(shape[1])).toBe(ids.length);
    expect(Number(shape[2])).toBe(32);
    expect(npy.length).toBe(10 + headerLen + ids.length * 32 * 4);
    // Row 0 of the matrix is the first chunk's vector of document ids[0] (the eos1086 row).
    const doc = (await h.call('GET', `/v1/collections/default/documents/${ids[0]!.key}?include=vectors`)).body;
    const row0 = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + headerLen, npy.byteOffset + 10 + headerLen + 128));
    expect(Array.from(row0)).toEqual(doc.chunks[0].vector.map((x: number) => Math.fround(x)));

    const perChunk = await h.app.request('/v1/collections/default/export?format=jsonl&rows=chunk');
    const first = JSON.parse((await perChunk.text()).split('\n')[0]!) as { key: string; chunk: number };
    expect(first.key).toMatch(/#0$/);
    expect((await h.call('GET', '/v1/collections/default/export?format=xml')).status).toBe(422);
  });

  async function firstPmid(): Promise<string> {
    const res = await h.call('POST', '/v1/collections/default/search', { query: 'patients', k: 200 });
    return res.body.results.find((r: { metadata: { mesh?: unknown } }) => Array.isArray(r.metadata.mesh)).id;
  }
});
