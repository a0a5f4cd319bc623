// Search latency through the real search service over 100k chunks:
//   npm run -s bench:search [-- --json] [--n 100000] [--queries 200]
// Fills a fresh PGlite catalog + embedded index (under a temp dir) with n one-chunk documents
// carrying clustered 768-d vectors, applies the outbox, then times searchDocuments():
// p50/p99 with a query vector (embedding excluded), with a metadata filter, and with the query
// text embedded by a RoBERTa-base-sized random model (the bench:embed checkpoint).
import { mkdtemp, rm, access } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { collectionConfigFor, type AppDeps } from '../src/app-deps.js';
import { ensureCollectionRecord } from '../src/catalog/collections.js';
import { contentHash, metadataHash } from '../src/catalog/hashes.js';
import { writeDocuments, type DocumentWrite } from '../src/catalog/documents.js';
import { loadConfig } from '../src/config.js';
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
if (!(await exists(join(modelDir, 'model.safetensors')))) throw new Error(`run npm run -s bench:embed once first: it writes the model to ${modelDir}`);
const embedder = await loadEmbedder(loadConfig({}, { model: modelDir, cacheDir: join(modelDir, '.cache'), hfHubOffline: true }));
const dataDir = await mkdtemp(join(tmpdir(), 'biovec-bench-search-'));
const stores = await openStores({ dataDir, databaseUrl: undefined, qdrantUrl: undefined, qdrantApiKey: undefined, qdrantTimeoutMs: 5000 });
const db = stores.database.db;
try {
  const collection = await ensureCollectionRecord(db, collectionConfigFor(embedder)('bench', { distance: 'cosine', chunkOverlap: 0 }));
  let seed = 1086;
  const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 4294967296; };
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const centroids = Float32Array.from({ length: 200 * D }, gauss);
  const vectorAt = (i: number) => {
    const t = i % 200;
    return Float32Array.from({ length: D }, (_, d) => centroids[t * D + d]! + 0.9 * gauss());
  };
  const JOURNALS = ['Cell', 'Nature', 'Lancet', 'BMJ', 'JAMA', 'PLoS One', 'eLife', 'NEJM', 'Science', 'BMC'];
  let t0 = performance.now();
  for (let start = 0; start < N; start += 1000) {
    const writes: DocumentWrite[] = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) {
      const body = `document ${i} abstract text`;
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

  const deps = { db, index: stores.index, embedder } as unknown as AppDeps;
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
  const QUERIES = ['aspirin and platelet aggregation', 'BRCA1 mutations in breast cancer', 'statin therapy and muscle pain', 'insulin resistance in obesity', 'CRISPR knockout screens'];
  const byText = await time((q) => searchDocuments(deps, 'bench', { query: QUERIES[q % QUERIES.length]!, k: 10, offset: 0, with_text: true }));
  const result = {
    chunks: N,
    p50_ms: byVector.p50, p99_ms: byVector.p99,
    filtered_p50_ms: filtered.p50, filtered_p99_ms: filtered.p99,
    with_query_embedding_p50_ms: byText.p50, with_query_embedding_p99_ms: byText.p99,
    catalog_load_s: Number(catalogSeconds.toFixed(1)), index_build_s: Number(indexSeconds.toFixed(1)),
    stores: 'pglite + embedded index', model: 'random roberta-base (768-d) for query embedding',
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else console.log(result);
} finally {
  await stores.close();
  await embedder.close();
  await rm(dataDir, { recursive: true, force: true });
}
