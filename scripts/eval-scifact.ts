// Retrieval quality on SciFact (BEIR test split: 5,183 abstracts, 300 judged claims) with a
// real model, through the whole pipeline (`biovec eval retrieval` on a fresh, temporary
// PGlite catalog and embedded index):
//   npm run -s eval:scifact [-- --json] [--model .models/bge-small-en-v1.5] [--dataset ../shared/data/scifact]
//     [--mode hybrid|dense|lexical|dense,lexical,hybrid] [--fusion weighted|rrf] [--dense-weight 0.55] [--rrf-k 60]
//     [--data-dir DIR]  (keep the stores there: a second run reuses the embedded collection)
//     [--exact]  (exact k-NN instead of the HNSW graph: for comparing models)
// Models come from `bash scripts/fetch-models.sh`; published figures to compare with are in the README.
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { loadEmbedder } from '../src/embedding/load-embedder.js';
import { evaluateRetrieval } from '../src/eval/retrieval-eval.js';
import { openStores } from '../src/stores.js';
import { embeddedText } from '../src/ingest/ingest-documents.js';

const { values } = parseArgs({ options: {
  json: { type: 'boolean', default: false },
  model: { type: 'string', default: '.models/bge-small-en-v1.5' },
  dataset: { type: 'string', default: '../shared/data/scifact' },
  quantize: { type: 'string', default: 'none' },
  // Search modes, comma-separated; the first one's figures are the top-level ones (issue 15).
  mode: { type: 'string', default: 'hybrid' },
  fusion: { type: 'string', default: 'weighted' },
  'dense-weight': { type: 'string', default: '0.55' },
  'rrf-k': { type: 'string', default: '60' },
  'data-dir': { type: 'string' },
  // Every k-th abstract is embedded again through the bare engine (no catalog, no index) after
  // the eval, for engine_tokens_per_s; 0 skips it.
  'engine-sample': { type: 'string', default: '4' },
  // Score every chunk instead of walking the embedded index's HNSW graph. The graph's shape
  // depends on insertion order and threads, so the same vectors (to 1e-8) gave nDCG@10 0.7074
  // in one run and 0.7122 in another: compare two models (fp32 vs int8) with --exact.
  exact: { type: 'boolean', default: false },
} });
const exists = (p: string) => access(p).then(() => true, () => false);
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };

if (!(await exists(values.model))) {
  process.stderr.write(`eval:scifact: no model at ${values.model}: run bash scripts/fetch-models.sh first\n`);
  process.exit(2);
}
if (!(await exists(join(values.dataset, 'qrels', 'test.tsv')))) {
  process.stderr.write(`eval:scifact: no SciFact (BEIR format) at ${values.dataset}\n`);
  process.exit(2);
}
const dataDir = values['data-dir'] ? resolve(values['data-dir']) : await mkdtemp(join(tmpdir(), 'biovec-eval-'));
const embedder = await loadEmbedder(loadConfig({}, { model: resolve(values.model), cacheDir: join(dataDir, 'cache'), hfHubOffline: true, quantize: values.quantize as 'none' }));
// Ingest throughput: tokens the engine embedded until the last committed batch, over that time.
const ingest = { started: performance.now(), lastBatch: 0, tokens: 0, isOver: false };
const bare = { tokens: 0 };
embedder.observe((b) => { if (!ingest.isOver) ingest.tokens += b.tokens; else bare.tokens += b.tokens; });
const stores = await openStores(
  { dataDir, databaseUrl: undefined, qdrantUrl: undefined, qdrantApiKey: undefined, qdrantTimeoutMs: 5000 },
  values.exact ? { embeddedTuning: { exactLimit: Number.MAX_SAFE_INTEGER } } : {},
);
try {
  let lastLog = 0;
  ingest.started = performance.now();
  const r = await evaluateRetrieval({
    db: stores.database.db, index: stores.index, embedder, dataset: values.dataset, collection: 'scifact',
    reuse: values['data-dir'] !== undefined,
    modes: values.mode.split(',').map((m) => m.trim()) as ('dense' | 'lexical' | 'hybrid')[],
    fusion: { method: values.fusion as 'weighted' | 'rrf', dense_weight: Number(values['dense-weight']), rrf_k: Number(values['rrf-k']) },
    onProgress: ({ phase, done, total }) => {
      if (phase === 'ingest') ingest.lastBatch = performance.now();
      else ingest.isOver = true;
      if (Date.now() - lastLog < 10_000 && done < total) return;
      lastLog = Date.now();
      log(`${phase}: ${((100 * done) / total).toFixed(0)}%`);
    },
  });
  const line = { model: r.model.id.split('/').at(-1), mode: r.mode, modes: r.modes, ndcg_at_10: r.ndcg_at_10, recall_at_10: r.recall_at_10, recall_at_100: r.recall_at_100, mrr_at_10: r.mrr_at_10, docs: r.docs, queries: r.queries, seconds: r.seconds, ingest_seconds: r.ingest_seconds, search_seconds: r.search_seconds, max_tokens: r.model.max_tokens, pooling: r.model.pooling, prompts: r.model.prompts, knn: values.exact ? 'exact' : 'hnsw' };
  ingest.isOver = true;
  const ingestTokensPerS = ingest.tokens / ((ingest.lastBatch - ingest.started) / 1000);
  // The eval's figures first, on stderr: they took the longest to get and must survive
  // whatever happens while the bare engine is measured.
  process.stderr.write(`eval:scifact: ${JSON.stringify({ ...line, ingest_tokens_per_s: Math.round(ingestTokensPerS) })}\n`);
  const engineTokensPerS = Number(values['engine-sample']) > 0 ? await measureBareEngine(Number(values['engine-sample'])) : undefined;
  Object.assign(line, {
    quantize: embedder.info.quantize,
    ingest_tokens_per_s: Math.round(ingestTokensPerS),
    engine_tokens_per_s: engineTokensPerS && Math.round(engineTokensPerS),
    ingest_vs_engine: engineTokensPerS && Number((ingestTokensPerS / engineTokensPerS).toFixed(3)),
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
  });
  process.stdout.write(values.json ? `${JSON.stringify(line)}\n` : `${JSON.stringify(line, null, 2)}\n`);
} finally {
  await stores.close();
  await embedder.close();
  if (!values['data-dir']) await rm(dataDir, { recursive: true, force: true });
}

/**
 * The engine alone on every k-th abstract, chunked as ingest chunks them: tokenizer, batcher,
 * inference and pooling, no catalog or index. Same model, same process, right after ingest.
 */
async function measureBareEngine(every: number): Promise<number> {
  const corpusPath = join(values.dataset, (await exists(join(values.dataset, 'corpus.jsonl'))) ? 'corpus.jsonl' : 'corpus.jsonl.gz');
  const raw = await readFile(corpusPath);
  const text = corpusPath.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const docs = text.split('\n').filter(Boolean).filter((_, i) => i % every === 0).map((l) => JSON.parse(l) as { title?: string; text?: string });
  const overlap = Math.min(32, Math.floor(embedder.info.maxTokens / 8));
  const started = performance.now();
  bare.tokens = 0;
  // Chunked 64 documents at a time, as ingest batches them (not thousands of tokenizer calls at once).
  const chunks = [];
  for (let i = 0; i < docs.length; i += 64) {
    const slice = docs.slice(i, i + 64);
    chunks.push(...(await Promise.all(slice.map((d) => embedder.chunk(embeddedText({ title: d.title ?? null, body: d.text ?? '' }), { overlapTokens: overlap, maxTokens: embedder.info.maxTokens, prefix: embedder.info.prompts.document })))).flat());
  }
  await embedder.embedChunks(chunks, { priority: 'bulk' });
  return bare.tokens / ((performance.now() - started) / 1000);
}
