import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCollectionRecord } from '../../src/catalog/collections.js';
import { loadConfig } from '../../src/config.js';
import { loadEmbedder } from '../../src/embedding/load-embedder.js';
import type { OnnxEmbedder } from '../../src/embedding/onnx-embedder.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';
import { DATABASE_BACKENDS } from '../helpers/database.js';
import { fixtureModel } from '../helpers/fixtures.js';

// A server started with --quantize int8 must not write int8 vectors into a collection of fp32
// ones (nor the reverse): the two are close, not equal, so rankings would depend on who wrote what.
describe.each(DATABASE_BACKENDS)('int8 and fp32 vectors never share a collection (%s)', (backend) => {
  let cacheDir: string;
  let embedder: OnnxEmbedder;
  let h: Harness;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'biovec-qbind-'));
    embedder = await loadEmbedder(loadConfig({}, { model: fixtureModel('tiny-roberta'), cacheDir, threads: 1, inference: 'inline', quantize: 'int8' }));
    h = await createHarness({ embedder, backend });
    // What an earlier fp32 server left: the same model's binding, but fp32.
    await ensureCollectionRecord(h.deps.db, { ...h.deps.collectionConfig('made-fp32', { distance: 'cosine', chunkOverlap: 0 }), quantize: 'none' });
  });
  afterAll(async () => {
    await h?.close();
    await embedder?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('a collection made by the int8 server records int8 and takes its documents', async () => {
    const created = await h.call('POST', '/v1/collections', { name: 'made-int8' });
    expect(created.status).toBe(201);
    const res = await h.call('POST', '/v1/collections/made-int8/documents', [{ id: 'd1', text: 'BRCA1 and breast cancer' }]);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  });

  it('refuses documents for the fp32 collection with a 409 problem naming both precisions, and writes nothing', async () => {
    const res = await h.call('POST', '/v1/collections/made-fp32/documents', [{ id: 'd1', text: 'BRCA1 and breast cancer' }]);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 409, type: expect.stringContaining('conflict') });
    expect(res.body.detail).toMatch(/collection made-fp32 holds fp32 vectors .*runs with quantize int8: restart with --quantize none/);
    expect((await h.call('GET', '/v1/collections/made-fp32/documents/d1')).status).toBe(404);
  });

  it('refuses to re-create the fp32 collection under the int8 binding (409, quantize named)', async () => {
    const res = await h.call('POST', '/v1/collections', { name: 'made-fp32' });
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('quantize "none" (asked "int8")');
  });
});
