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

  // Issue 16: a collection embeds with the model of its own binding (loaded on demand when the
  // server serves another), so the int8 server writes fp32 vectors into the fp32 collection.
  it('embeds documents for the fp32 collection with an fp32 model, never with the served int8 one', async () => {
    const res = await h.call('POST', '/v1/collections/made-fp32/documents', [{ id: 'd1', text: 'BRCA1 and breast cancer' }]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const doc = await h.call('GET', '/v1/collections/made-fp32/documents/d1?include=vectors');
    expect(doc.status).toBe(200);
    const stored = Float32Array.from(doc.body.chunks[0].vector as number[]);
    const fp32 = await loadEmbedder(loadConfig({}, { model: fixtureModel('tiny-roberta'), cacheDir, threads: 1, inference: 'inline' }));
    try {
      const [want] = await fp32.embed(['BRCA1 and breast cancer']);
      const [int8] = await embedder.embed(['BRCA1 and breast cancer']);
      const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
      expect(maxDiff(stored, want!.vector)).toBeLessThan(1e-5);
      expect(maxDiff(stored, int8!.vector)).toBeGreaterThan(1e-4);
    } finally {
      await fp32.close();
    }
  });

  it('refuses to re-create the fp32 collection under the int8 binding (409, quantize named)', async () => {
    const res = await h.call('POST', '/v1/collections', { name: 'made-fp32' });
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('quantize "none" (asked "int8")');
  });
});
