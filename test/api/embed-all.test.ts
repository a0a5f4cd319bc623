// TEI's POST /embed_all (issue 12): every token's last hidden state, through the same batcher
// and runner as the pooled routes, on real ONNX sessions (the tiny RoBERTa fixture) compared
// with transformers' hidden states; the worker and the inline runner both.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { loadEmbedder } from '../../src/embedding/load-embedder.js';
import { silentLogger } from '../../src/lib/logger.js';
import { startServer } from '../../src/main.js';
import { MAX_EMBED_ALL_VALUES } from '../../src/embeddings/tei-routes.js';
import { createHarness, type Harness } from '../helpers/app-harness.js';
import { fixtureModel, maxAbsDiff, readReference, type Reference } from '../helpers/fixtures.js';

const TOLERANCE = 1e-4;
const cacheDir = join(tmpdir(), 'biovec-embed-all-cache');

for (const inference of ['worker', 'inline'] as const) {
  describe(`POST /embed_all (${inference} runner)`, () => {
    let embedder: Embedder;
    let h: Harness;
    let ref: Reference;
    beforeAll(async () => {
      embedder = await loadEmbedder(loadConfig({}, { model: fixtureModel('tiny-roberta'), threads: 1, hfHubOffline: true, cacheDir, inference }));
      h = await createHarness({ embedder });
      ref = await readReference(fixtureModel('tiny-roberta'));
    });
    afterAll(async () => {
      await h?.close();
      await embedder?.close();
    });

    it('gives transformers\' hidden state of every real token, special tokens included', async () => {
      // The reference batch holds a blank text, which the embedding routes refuse.
      const rows = ref.texts.flatMap((text, row) => (text.trim() ? [{ text, row }] : []));
      const res = await h.call('POST', '/embed_all', { inputs: rows.map((r) => r.text) });
      expect(res.status).toBe(200);
      const out = res.body as number[][][];
      expect(out).toHaveLength(rows.length);
      rows.forEach(({ row }, i) => {
        let length = 0;
        for (let t = 0; t < ref.sequence; t++) length += Number(ref.attentionMask[row * ref.sequence + t]);
        expect(out[i]).toHaveLength(length);
        const base = row * ref.sequence * ref.hiddenSize;
        expect(maxAbsDiff(out[i]!.flat(), ref.hidden.subarray(base, base + length * ref.hiddenSize))).toBeLessThan(TOLERANCE);
      });
      const tokens = (await h.call('POST', '/tokenize', { inputs: rows[0]!.text })).body[0];
      expect(out[0]).toHaveLength(tokens.length);
    });

    it('its first token\'s vector is /embed\'s CLS vector, and pooled rows batched with it are unchanged', async () => {
      expect(embedder.info.pooling).toBe('cls');
      const texts = ['aspirin inhibits cyclooxygenase', 'BRCA1 mutations', 'TNF-α activates NF-κB'];
      const alone = (await h.call('POST', '/embed', { inputs: texts, normalize: false })).body as number[][];
      // Submitted together, the pooled and token-level rows share batches.
      const [all, mixed] = await Promise.all([h.call('POST', '/embed_all', { inputs: texts }), h.call('POST', '/embed', { inputs: texts, normalize: false })]);
      expect(mixed.body).toEqual(alone);
      const normalize = embedder.info.normalize;
      (all.body as number[][][]).forEach((perToken, i) => {
        const first = perToken[0]!;
        const norm = normalize ? Math.hypot(...first) : 1;
        expect(maxAbsDiff(first.map((v) => v / norm), alone[i]!)).toBeLessThan(TOLERANCE);
      });
    });

    it('refuses over-long input unless truncate=true, bad keys and blank input with 422', async () => {
      const long = 'aspirin inhibits cyclooxygenase '.repeat(200);
      const refused = await h.call('POST', '/embed_all', { inputs: ['ok', long] });
      expect(refused.status).toBe(422);
      expect(refused.body.errors[0].pointer).toBe('/inputs/1');
      const cut = await h.call('POST', '/embed_all', { inputs: long, truncate: true, truncation_direction: 'Left' });
      expect(cut.status).toBe(200);
      expect(cut.body[0]).toHaveLength(embedder.info.maxTokens);
      const typo = await h.call('POST', '/embed_all', { inputs: 'aspirin', normalize: true });
      expect(typo.status).toBe(422);
      expect(typo.body.detail).toContain('normalize');
      expect((await h.call('POST', '/embed_all', { inputs: [' '] })).status).toBe(422);
    });

    it('refuses (PayloadTooLargeError, 413), before inference, an answer over the value bound', async () => {
      // The tiny model's largest request (2048 inputs × 128 tokens × 32 dims) is exactly the
      // route's bound, so the bound is exercised through the port option the route sets.
      expect(MAX_EMBED_ALL_VALUES).toBeGreaterThanOrEqual(2048 * embedder.info.maxTokens * embedder.info.dims);
      const texts = ['aspirin inhibits cyclooxygenase', 'BRCA1 mutations'];
      const values = (await embedder.embedTokens!(texts)).reduce((sum, e) => sum + e.vectors.length, 0);
      const batchesBefore = embedder.stats!().batches;
      await expect(embedder.embedTokens!(texts, { maxValues: values - 1 })).rejects.toMatchObject({ code: 'payload-too-large', detail: expect.stringContaining(`${values - 1} limit`) });
      expect(embedder.stats!().batches).toBe(batchesBefore);
      expect(await embedder.embedTokens!(texts, { maxValues: values })).toHaveLength(2);
    });
  });
}

describe('POST /embed_all on the hash double', () => {
  it('answers 404: it has no model whose tokens to give', async () => {
    const hashed = await createHarness({ embedder: new HashEmbedder() });
    try {
      const res = await hashed.call('POST', '/embed_all', { inputs: 'aspirin' });
      expect(res.status).toBe(404);
      expect(res.body.detail).toContain('token-level output for test/hash-embedder');
    } finally {
      await hashed.close();
    }
  });
});

describe('POST /embed_all on a served biovec', () => {
  it('is answered through the served embedder (its queue-wait bound wrapper forwards it)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'biovec-embed-all-served-'));
    const embedder = await loadEmbedder(loadConfig({}, { model: fixtureModel('tiny-roberta'), threads: 1, hfHubOffline: true, cacheDir, inference: 'inline' }));
    const server = await startServer(loadConfig({ BIOVEC_DATA_DIR: dataDir, BIOVEC_PORT: '0' }), { embedder, logger: silentLogger() });
    try {
      const res = await fetch(`${server.url}/embed_all`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'aspirin' }) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as number[][][];
      expect(body[0]!.length).toBeGreaterThan(2);
      expect(body[0]![0]).toHaveLength(embedder.info.dims);
    } finally {
      await server.close();
      await embedder.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
