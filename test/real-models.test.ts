import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { loadEmbedder } from '../src/embedding/load-embedder.js';
import type { OnnxEmbedder } from '../src/embedding/onnx-embedder.js';
import { FIXTURES, REPO_ROOT, maxAbsDiff } from './helpers/fixtures.js';

// Real models come from package registries (scripts/fetch-models.sh, which .ci/run runs);
// a fresh clone without them skips these tests with this reason.
const MODELS = process.env.BIOVEC_TEST_MODELS ?? join(REPO_ROOT, '.models');
const MINILM = join(MODELS, 'all-MiniLM-L6-v2');
const BGE = join(MODELS, 'bge-small-en-v1.5');
const reason = (dir: string) => (existsSync(dir) ? '' : ` (skipped: ${dir} absent; run bash scripts/fetch-models.sh)`);

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const load = (model: string) => loadEmbedder(loadConfig({}, { model, threads: 2, cacheDir: join(tmpdir(), 'biovec-real-models'), hfHubOffline: true }));

describe.skipIf(!existsSync(MINILM))(`all-MiniLM-L6-v2 through our safetensors converter${reason(MINILM)}`, () => {
  let embedder: OnnxEmbedder;
  let ref: { texts: string[]; embeddings: number[][] };
  beforeAll(async () => {
    embedder = await load(MINILM);
    ref = JSON.parse(await readFile(join(FIXTURES, 'real-models', 'all-MiniLM-L6-v2.json'), 'utf8'));
  }, 120_000);
  afterAll(async () => embedder?.close());

  it('takes its sentence-transformers setup (mean pooling, normalised) and matches transformers within 1e-4', async () => {
    expect(embedder.info).toMatchObject({ dims: 384, pooling: 'mean', normalize: true, weights: 'safetensors', tokenizer: 'tokenizer.json' });
    const out = await embedder.embed(ref.texts);
    out.forEach((e, i) => expect(maxAbsDiff(e.vector, ref.embeddings[i]!)).toBeLessThan(1e-4));
  });

  it('has real semantics: a paraphrase is closer than an unrelated sentence', async () => {
    const [a, para, other] = await embedder.embed(['Aspirin inhibits platelet aggregation.', 'Acetylsalicylic acid reduces platelet clumping.', 'The stock market fell sharply today.']);
    expect(cosine(a!.vector, para!.vector)).toBeGreaterThan(cosine(a!.vector, other!.vector) + 0.2);
  });
});

describe.skipIf(!existsSync(BGE))(`bge-small-en-v1.5 from its ONNX export${reason(BGE)}`, () => {
  let embedder: OnnxEmbedder;
  beforeAll(async () => {
    embedder = await load(BGE);
  }, 120_000);
  afterAll(async () => embedder?.close());

  it('loads a third-party ONNX export with token_type_ids, CLS pooling and normalisation', async () => {
    expect(embedder.info).toMatchObject({ dims: 384, pooling: 'cls', normalize: true, weights: 'onnx' });
    const [query, relevant, irrelevant] = await embedder.embed([
      'Represent this sentence for searching relevant passages: does aspirin reduce platelet aggregation?',
      'Aspirin irreversibly acetylates cyclooxygenase-1, inhibiting thromboxane A2 and platelet aggregation.',
      'Lisbon is the capital of Portugal.',
    ]);
    expect(Math.sqrt(query!.vector.reduce((s, v) => s + v * v, 0))).toBeCloseTo(1, 5);
    expect(cosine(query!.vector, relevant!.vector)).toBeGreaterThan(cosine(query!.vector, irrelevant!.vector) + 0.1);
  });
});
