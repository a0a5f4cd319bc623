import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionConfigFor } from '../src/app-deps.js';
import { ensureCollectionRecord } from '../src/catalog/collections.js';
import { loadConfig } from '../src/config.js';
import { probeCollection } from '../src/eval/probe-eval.js';
import { evaluateRetrieval } from '../src/eval/retrieval-eval.js';
import { importRecords } from '../src/imports/import-records.js';
import { parseNdjson } from '../src/ingest/parsers/ndjson.js';
import { EmbeddedIndex } from '../src/vectors/adapters/embedded/embedded-index.js';
import { openTestDatabase, type TestDatabase } from './helpers/database.js';
import { loadEmbedder } from '../src/embedding/load-embedder.js';
import type { OnnxEmbedder } from '../src/embedding/onnx-embedder.js';
import { FIXTURES, REPO_ROOT, SHARED_DIR, maxAbsDiff } from './helpers/fixtures.js';

// Real models come from package registries (scripts/fetch-models.sh, which .ci/run runs);
// a fresh clone without them skips these tests with this reason.
const MODELS = process.env.BIOVEC_TEST_MODELS ?? join(REPO_ROOT, '.models');
const MINILM = join(MODELS, 'all-MiniLM-L6-v2');
const BGE = join(MODELS, 'bge-small-en-v1.5');
const MPNET = join(MODELS, 'all-mpnet-base-v2');
const reason = (dir: string) => (existsSync(dir) ? '' : ` (skipped: ${dir} absent; run bash scripts/fetch-models.sh)`);

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const load = (model: string) => loadEmbedder(loadConfig({}, { model, threads: 2, cacheDir: join(tmpdir(), 'biovec-real-models'), hfHubOffline: true }));

describe.skipIf(!existsSync(MINILM))(`all-MiniLM-L6-v2 through our safetensors converter${reason(MINILM)}`, () => {
  let embedder: OnnxEmbedder;
  let ref: { texts: string[]; embeddings: number[][] };
  beforeAll(async () => {
    embedder = await load(MINILM);
    ref = JSON.parse(await readFile(join(FIXTURES, 'real-models', 'all-MiniLM-L6-v2.json'), 'utf8'));
  });
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
  });
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

// Optional (438 MB): bash scripts/fetch-models.sh --with-mpnet.
describe.skipIf(!existsSync(MPNET))(`all-mpnet-base-v2 (MPNet) through our converter${reason(MPNET)}`, () => {
  let embedder: OnnxEmbedder;
  beforeAll(async () => {
    embedder = await load(MPNET);
  });
  afterAll(async () => embedder?.close());

  it("matches sentence-transformers' vectors (cosine ≥ 0.9999), a 384-token truncated text included", async () => {
    const ref = JSON.parse(await readFile(join(FIXTURES, 'real-models', 'all-mpnet-base-v2.json'), 'utf8')) as { texts: string[]; embeddings: number[][] };
    expect(embedder.info).toMatchObject({ architecture: 'mpnet', dims: 768, pooling: 'mean', normalize: true, maxTokens: 384 });
    const out = await embedder.embed(ref.texts);
    expect(out.at(-1)!.tokens).toBe(384);
    out.forEach((e, i) => expect(cosine(e.vector, Float32Array.from(ref.embeddings[i]!)), ref.texts[i]).toBeGreaterThanOrEqual(0.9999));
  });
});

// End to end on real data: a slice of SciFact (../shared/data) through ingest, index and search.
const SCIFACT = join(SHARED_DIR, 'data', 'scifact');
const CHEMPROT = join(SHARED_DIR, 'data', 'chemprot', 'train.txt');
const dataReason = (path: string) => (existsSync(path) ? '' : ` (skipped: ${path} absent; it is in ../shared/data)`);

describe.skipIf(!existsSync(BGE) || !existsSync(SCIFACT))(`eval retrieval with bge-small-en-v1.5 on a SciFact slice${reason(BGE)}${dataReason(SCIFACT)}`, () => {
  let work: string;
  let embedder: OnnxEmbedder;
  let db: TestDatabase;
  let index: EmbeddedIndex;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'biovec-scifact-'));
    embedder = await load(BGE);
    db = await openTestDatabase('pglite');
    index = await EmbeddedIndex.openAt(join(work, 'index'));
    // 30 judged claims, their abstracts and 120 others: small enough for CI, large enough to rank.
    const qrels = (await readFile(join(SCIFACT, 'qrels', 'test.tsv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split('\t'));
    const queryIds = [...new Set(qrels.map(([q]) => q!))].slice(0, 30);
    const kept = qrels.filter(([q]) => queryIds.includes(q!));
    const relevant = new Set(kept.map(([, d]) => d!));
    const corpus = gunzipSync(await readFile(join(SCIFACT, 'corpus.jsonl.gz'))).toString('utf8').trim().split('\n');
    const slice = corpus.filter((l, i) => i < 120 || relevant.has((JSON.parse(l) as { _id: string })._id));
    const queries = (await readFile(join(SCIFACT, 'queries.jsonl'), 'utf8')).trim().split('\n').filter((l) => queryIds.includes((JSON.parse(l) as { _id: string })._id));
    await mkdir(join(work, 'data', 'qrels'), { recursive: true });
    await writeFile(join(work, 'data', 'corpus.jsonl'), `${slice.join('\n')}\n`);
    await writeFile(join(work, 'data', 'queries.jsonl'), `${queries.join('\n')}\n`);
    await writeFile(join(work, 'data', 'qrels', 'test.tsv'), `query-id\tcorpus-id\tscore\n${kept.map((r) => r.join('\t')).join('\n')}\n`);
  });
  afterAll(async () => {
    await embedder?.close();
    await index?.close();
    await db?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('uses the model card\'s query instruction and ranks the judged abstracts near the top', async () => {
    expect(embedder.info.prompts).toEqual({ query: 'Represent this sentence for searching relevant passages: ', document: '' });
    const r = await evaluateRetrieval({ db: db.handle.db, index, embedder, dataset: join(work, 'data') });
    expect(r).toMatchObject({ queries: 30, failed_docs: 0, model: { prompts: embedder.info.prompts } });
    expect(r.docs).toBeGreaterThanOrEqual(150);
    // Full SciFact (5,183 abstracts) gives 0.71 (README); a 150-abstract slice is easier.
    expect(r.ndcg_at_10).toBeGreaterThan(0.75);
    expect(r.recall_at_100).toBeGreaterThan(0.95);
  }, 300_000);
});

describe.skipIf(!existsSync(MINILM) || !existsSync(CHEMPROT))(`eval probe with all-MiniLM-L6-v2 on ChemProt sentences${reason(MINILM)}${dataReason(CHEMPROT)}`, () => {
  it('learns relation classes from exported vectors well above the majority baseline', async () => {
    const embedder = await load(MINILM);
    const db = await openTestDatabase('pglite');
    try {
      expect(embedder.info).toMatchObject({ maxTokens: 256, prompts: { query: '', document: '' } }); // sentence_bert_config.json
      // 360 sentences of three relations, 120 each (the first of each in the file).
      const lines = (await readFile(CHEMPROT, 'utf8')).trim().split('\n');
      const seen = new Map<string, number>();
      const picked = lines.filter((l) => {
        const label = (JSON.parse(l) as { label: string }).label;
        if (!['INHIBITOR', 'SUBSTRATE', 'INDIRECT-UPREGULATOR'].includes(label) || (seen.get(label) ?? 0) >= 120) return false;
        seen.set(label, (seen.get(label) ?? 0) + 1);
        return true;
      });
      const collection = await ensureCollectionRecord(db.handle.db, collectionConfigFor(embedder)('chemprot', { distance: 'cosine', chunkOverlap: 0 }));
      const imported = await importRecords({ db: db.handle.db, embedder, collection, records: parseNdjson(Readable.from([Buffer.from(picked.join('\n'))]), { labels: 'label', idFrom: 'record' }), onBatch: async () => {} });
      expect(imported).toMatchObject({ done: 360, failed: 0 });
      const r = await probeCollection({ db: db.handle.db, collection, label: 'labels', folds: 5 });
      expect(r.classes).toEqual([{ label: 'INDIRECT-UPREGULATOR', count: 120 }, { label: 'INHIBITOR', count: 120 }, { label: 'SUBSTRATE', count: 120 }]);
      expect(r.folds).toHaveLength(5);
      expect(r.majority_accuracy).toBeCloseTo(1 / 3, 5);
      expect(r.overall.accuracy).toBeGreaterThan(0.55);
      expect(r.overall.macroF1).toBeGreaterThan(0.5);
    } finally {
      await embedder.close();
      await db.cleanup();
    }
  }, 300_000);
});
