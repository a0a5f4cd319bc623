// Search latency through the real search service over 100k chunks:
//   npm run -s bench:search [-- --json] [--n 100000] [--queries 200]
// Fills a fresh PGlite catalog + embedded index (under a temp dir) with n one-chunk documents
// carrying clustered 768-d vectors and ~150-word synthetic abstracts (a Zipf vocabulary of 30k
// words, so BM25's postings look like a real corpus's), applies the outbox, then times
// searchDocuments(): p50/p99 with a query vector, with a metadata filter; text queries in
// dense, lexical and hybrid mode, in alternating rounds, with the query embedded by the hash
// double (so the modes' own cost is compared, not the model's); and, when the bench:embed
// checkpoint is there, with the query text embedded by a RoBERTa-base-sized random model.
import { mkdtemp, rm, access } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { collectionConfigFor, type AppDeps } from '../src/app-deps.js';
import { ensureCollectionRecord } from '../src/catalog/collections.js';
import { contentHash, metadataHash } from '../src/catalog/hashes.js';
import { writeDocuments, type DocumentWrite } from '../src/catalog/documents.js';
import { loadConfig } from '../src/config.js';
import { HashEmbedder } from '../src/embedding/adapters/hash-embedder.js';
import { loadEmbedder } from '../src/embedding/load-embedder.js';
import { OutboxWorker } from '../src/outbox/outbox-worker.js';
import { searchDocuments } from '../src/search/search-service.js';
import { openStores } from '../src/stores.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, n: { type: 'string', default: '100000' }, queries: { type: 'string', default: '200' } } });
const N = Number(values.n);
const Q = Number(values.queries);
const D = 768;
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };
const exists = (p: string) => access(p).then(() => true, () => false);

const modelDir = join(homedir(), '.cache', 'biovec', 'bench', 'roberta-base-random');
const hasModel = await exists(join(modelDir, 'model.safetensors'));
if (!hasModel) log(`no ${modelDir} (npm run -s bench:embed writes it): skipping the timing with a real query embedding`);
const embedder = hasModel ? await loadEmbedder(loadConfig({}, { model: modelDir, cacheDir: join(modelDir, '.cache'), hfHubOffline: true })) : undefined;
const hashEmbedder = new HashEmbedder(D, 512);
const dataDir = await mkdtemp(join(tmpdir(), 'biovec-bench-search-'));
const stores = await openStores({ dataDir, databaseUrl: undefined, qdrantUrl: undefined, qdrantApiKey: undefined, qdrantTimeoutMs: 5000 });
const db = stores.database.db;
try {
  const collection = await ensureCollectionRecord(db, collectionConfigFor(hashEmbedder)('bench', { distance: 'cosine', chunkOverlap: 0 }));
  let seed = 1086;
  const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 4294967296; };
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const centroids = Float32Array.from({ length: 200 * D }, gauss);
  const vectorAt = (i: number) => {
    const t = i % 200;
    return Float32Array.from({ length: D }, (_, d) => centroids[t * D + d]! + 0.9 * gauss());
  };
  // Pseudo-words of 2-4 syllables; word r (0-based) is drawn with probability ∝ 1/(r + 1).
  const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'pe', 'da', 'gu', 'ho', 'ji', 'fe', 'zo', 'bi', 'cy', 'wu', 'xa', 'qe'];
  const VOCABULARY = Array.from({ length: 30_000 }, (_, r) => {
    let w = '';
    for (let x = r + 400; x > 0; x = Math.floor(x / 20)) w += SYLLABLES[x % 20];
    return w;
  });
  const zipfCdf = new Float64Array(VOCABULARY.length);
  VOCABULARY.forEach((_, r) => { zipfCdf[r] = (r > 0 ? zipfCdf[r - 1]! : 0) + 1 / (r + 1); });
  const zipfWord = (min = 0) => {
    for (;;) {
      const u = rnd() * zipfCdf[zipfCdf.length - 1]!;
      let lo = 0, hi = zipfCdf.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (zipfCdf[mid]! < u) lo = mid + 1; else hi = mid; }
      if (lo >= min) return VOCABULARY[lo]!;
    }
  };
  const abstract = (words: number) => Array.from({ length: words }, () => zipfWord()).join(' ');
  const JOURNALS = ['Cell', 'Nature', 'Lancet', 'BMJ', 'JAMA', 'PLoS One', 'eLife', 'NEJM', 'Science', 'BMC'];
  let t0 = performance.now();
  for (let start = 0; start < N; start += 1000) {
    const writes: DocumentWrite[] = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) {
      const body = abstract(120 + (i % 60));
      const metadata = { journal: JOURNALS[i % 10]!, year: 1990 + (i % 35) };
      writes.push({ input: { externalId: `doc-${i}`, title: `Title ${i}`, body, metadata, labels: [`topic-${i % 50}`] }, action: 'create', contentHash: contentHash(`Title ${i}`, body), metadataHash: metadataHash(metadata, []), chunks: [{ chunkIndex: 0, startOffset: 0, endOffset: body.length, tokenCount: 8, vector: vectorAt(i) }] });
    }
    await writeDocuments(db, collection, writes);
    if (start % 20000 === 0) log(`catalog: ${start + writes.length}/${N}`);
  }
  const catalogSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const worker = new OutboxWorker({ db, index: stores.index, batchSize: 2000 });
  await worker.drain(60 * 60_000);
  const indexSeconds = (performance.now() - t0) / 1000;
  log(`catalog ${catalogSeconds.toFixed(0)} s, index ${indexSeconds.toFixed(0)} s`);

  const deps = { db, index: stores.index, embedder: hashEmbedder } as unknown as AppDeps;
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))]!;
  const time = async (fn: (q: number) => Promise<unknown>) => {
    for (let q = 0; q < 5; q++) await fn(q); // warm-up
    const times: number[] = [];
    for (let q = 0; q < Q; q++) {
      const s = performance.now();
      await fn(q);
      times.push(performance.now() - s);
    }
    return { p50: Number(pct(times, 0.5).toFixed(2)), p99: Number(pct(times, 0.99).toFixed(2)) };
  };
  const byVector = await time((q) => searchDocuments(deps, 'bench', { vector: Array.from(vectorAt(q * 37)), k: 10, offset: 0, with_text: true }));
  const filtered = await time((q) => searchDocuments(deps, 'bench', { vector: Array.from(vectorAt(q * 37)), k: 10, offset: 0, with_text: true, filter: { labels: [`topic-${q % 50}`], year: { gte: 2000 } } }));
  // Content-word queries (past the 30 commonest words, as stop words would be) of 3-6 words.
  const TEXT_QUERIES = Array.from({ length: 64 }, (_, i) => Array.from({ length: 3 + (i % 4) }, () => zipfWord(30)).join(' '));
  const modes = ['dense', 'lexical', 'hybrid'] as const;
  const modeTimes = Object.fromEntries(modes.map((m) => [m, [] as number[]])) as Record<(typeof modes)[number], number[]>;
  for (let q = 0; q < Q + 5; q++) {
    // Alternating rounds: each mode meets the same load as the others.
    for (const mode of modes) {
      const s = performance.now();
      await searchDocuments(deps, 'bench', { query: TEXT_QUERIES[q % TEXT_QUERIES.length]!, k: 10, offset: 0, with_text: true, mode });
      if (q >= 5) modeTimes[mode].push(performance.now() - s);
    }
  }
  const p = (mode: (typeof modes)[number], x: number) => Number(pct(modeTimes[mode], x).toFixed(2));
  const textDeps = { ...deps, embedder } as unknown as AppDeps;
  const QUERIES = ['aspirin and platelet aggregation', 'BRCA1 mutations in breast cancer', 'statin therapy and muscle pain', 'insulin resistance in obesity', 'CRISPR knockout screens'];
  const byText = embedder ? await time((q) => searchDocuments(textDeps, 'bench', { query: QUERIES[q % QUERIES.length]!, k: 10, offset: 0, with_text: true, mode: 'dense' })) : undefined;
  const result = {
    chunks: N,
    p50_ms: byVector.p50, p99_ms: byVector.p99,
    filtered_p50_ms: filtered.p50, filtered_p99_ms: filtered.p99,
    dense_text_p50_ms: p('dense', 0.5), dense_text_p99_ms: p('dense', 0.99),
    lexical_p50_ms: p('lexical', 0.5), lexical_p99_ms: p('lexical', 0.99),
    hybrid_p50_ms: p('hybrid', 0.5), hybrid_p99_ms: p('hybrid', 0.99),
    hybrid_over_dense_p50: Number((p('hybrid', 0.5) / p('dense', 0.5)).toFixed(2)),
    ...(byText ? { with_query_embedding_p50_ms: byText.p50, with_query_embedding_p99_ms: byText.p99 } : {}),
    catalog_load_s: Number(catalogSeconds.toFixed(1)), index_build_s: Number(indexSeconds.toFixed(1)),
    stores: 'pglite + embedded index', model: hasModel ? 'random roberta-base (768-d) for query embedding (with_query_embedding_*), hash double for the modes' : 'hash double for query embedding',
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else console.log(result);
} finally {
  await stores.close();
  await embedder?.close();
  await hashEmbedder.close();
  await rm(dataDir, { recursive: true, force: true });
}
