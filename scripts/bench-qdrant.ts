// Search latency through the real HTTP /search route, embedded index vs Qdrant, in one run:
//   QDRANT_URL=http://127.0.0.1:6333 npm run -s bench:qdrant [-- --json] [--n 10000] [--queries 300]
// Starts `biovec serve` in-process (startServer, loopback, PGlite catalog) twice over the same
// n one-chunk documents with clustered 768-d vectors: once on the embedded index, once on the
// Qdrant at QDRANT_URL. Times POST /v1/collections/bench/search by vector (k=10) over HTTP and
// prints p50/p90/p99. Against Qdrant it also times the adapter's own search with the
// Accept-Encoding biovec sends (identity) and with fetch's default (gzip, deflate), which
// Qdrant answers gzipped and chunked (issue 11: ~40 ms stalls).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCollectionRecord } from '../src/catalog/collections.js';
import { contentHash, metadataHash } from '../src/catalog/hashes.js';
import { writeDocuments, type DocumentWrite } from '../src/catalog/documents.js';
import { loadConfig } from '../src/config.js';
import { HashEmbedder } from '../src/embedding/adapters/hash-embedder.js';
import { startServer } from '../src/main.js';
import { QdrantIndex } from '../src/vectors/adapters/qdrant-index.js';

const { values } = parseArgs({ options: {
  json: { type: 'boolean', default: false }, n: { type: 'string', default: '10000' }, queries: { type: 'string', default: '300' },
  'qdrant-url': { type: 'string', default: process.env.QDRANT_URL || undefined },
} });
const N = Number(values.n);
const Q = Number(values.queries);
const D = 768;
const qdrantUrl = values['qdrant-url'];
if (!qdrantUrl) throw new Error('set QDRANT_URL (or --qdrant-url) to the Qdrant to compare with');
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };

let seed = 1086;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 4294967296; };
const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
const centroids = Float32Array.from({ length: 200 * D }, gauss);
const vectors = Array.from({ length: N }, (_, i) => Float32Array.from({ length: D }, (_, d) => centroids[(i % 200) * D + d]! + 0.9 * gauss()));

type Percentiles = { p50_ms: number; p90_ms: number; p99_ms: number };
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))]!;
async function time(fn: (q: number) => Promise<unknown>): Promise<Percentiles> {
  for (let q = 0; q < 10; q++) await fn(q); // warm-up
  const times: number[] = [];
  for (let q = 0; q < Q; q++) {
    const started = performance.now();
    await fn(q);
    times.push(performance.now() - started);
  }
  const round = (x: number) => Number(x.toFixed(2));
  return { p50_ms: round(pct(times, 0.5)), p90_ms: round(pct(times, 0.9)), p99_ms: round(pct(times, 0.99)) };
}

/** Waits until Qdrant has finished optimising (indexing) the collection, so searches hit the HNSW graph. */
async function waitGreen(name: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const info = (await (await fetch(`${qdrantUrl!.replace(/\/+$/, '')}/collections/${name}`)).json()) as { result?: { status?: string } };
    if (info.result?.status === 'green') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Qdrant collection ${name} did not turn green`);
}

async function measure(kind: 'embedded' | 'qdrant'): Promise<{ search: Percentiles; indexName: string; loadS: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), `biovec-bench-${kind}-`));
  const config = loadConfig({}, { dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', ...(kind === 'qdrant' ? { qdrantUrl } : {}) });
  const server = await startServer(config, { embedder: new HashEmbedder(D, 512) });
  try {
    const { db } = server.deps;
    const collection = await ensureCollectionRecord(db, server.deps.collectionConfig('bench', { distance: 'cosine', chunkOverlap: 0 }));
    // The server outlives runs: no index collection from an earlier run may add points.
    if (kind === 'qdrant') await server.deps.index.dropCollection(collection.indexName);
    const started = performance.now();
    for (let start = 0; start < N; start += 1000) {
      const writes: DocumentWrite[] = [];
      for (let i = start; i < Math.min(N, start + 1000); i++) {
        const body = `document ${i} abstract text`;
        writes.push({ input: { externalId: `doc-${i}`, title: null, body, metadata: { year: 1990 + (i % 35) } }, action: 'create', contentHash: contentHash(null, body), metadataHash: metadataHash({ year: 1990 + (i % 35) }, []), chunks: [{ chunkIndex: 0, startOffset: 0, endOffset: body.length, tokenCount: 4, vector: vectors[i]! }] });
      }
      await writeDocuments(db, collection, writes);
      server.deps.worker.notify();
    }
    if ((await server.deps.worker.drain(30 * 60_000)) !== 0) throw new Error('the outbox did not drain');
    if (kind === 'qdrant') await waitGreen(collection.indexName);
    const loadS = (performance.now() - started) / 1000;
    log(`${kind}: ${N} documents indexed in ${loadS.toFixed(0)} s`);
    const search = await time(async (q) => {
      const res = await fetch(`${server.url}/v1/collections/bench/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: Array.from(vectors[(q * 37) % N]!), k: 10 }) });
      if (res.status !== 200) throw new Error(`search answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    if (kind === 'qdrant') await server.deps.index.dropCollection(collection.indexName);
    return { search, indexName: collection.indexName, loadS };
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function cpuFacts(): Record<string, unknown> {
  let flags: string[] = [];
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags') || l.startsWith('Features'));
    const all = new Set((line?.split(':')[1] ?? '').trim().split(/\s+/));
    flags = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'asimd', 'sve'].filter((f) => all.has(f));
  } catch {
    // not Linux: leave the flags out
  }
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, simd: flags };
}

const embedded = await measure('embedded');
const qdrant = await measure('qdrant');
// The adapter alone on the same (re-loaded) data: what the Accept-Encoding header costs.
const adapter: Record<string, Percentiles> = {};
{
  const loader = new QdrantIndex({ url: qdrantUrl, timeoutMs: 30_000 });
  const name = `bench_encoding_${process.pid}`;
  await loader.dropCollection(name);
  await loader.ensureCollection({ name, dims: D, distance: 'cosine' });
  const { pointId } = await import('../src/vectors/point-id.js');
  for (let i = 0; i < N; i += 256) {
    await loader.upsert(name, vectors.slice(i, i + 256).map((vector, j) => ({ id: pointId(name, `doc-${i + j}`, 0), vector, payload: { document_id: `doc-${i + j}`, chunk_index: 0 } })));
  }
  await waitGreen(name);
  for (const acceptEncoding of ['identity', 'gzip, deflate']) {
    const index = new QdrantIndex({ url: qdrantUrl, timeoutMs: 30_000, acceptEncoding });
    adapter[acceptEncoding] = await time((q) => index.search(name, { vector: vectors[(q * 37) % N]!, k: 10 }));
    await index.close();
  }
  await loader.dropCollection(name);
  await loader.close();
}
const version = ((await (await fetch(`${qdrantUrl.replace(/\/+$/, '')}/`)).json()) as { version: string }).version;
const result = {
  documents: N, dims: D, k: 10, queries: Q,
  http_search_embedded: embedded.search,
  http_search_qdrant: qdrant.search,
  qdrant_adapter_search_accept_encoding_identity: adapter.identity,
  qdrant_adapter_search_accept_encoding_gzip: adapter['gzip, deflate'],
  qdrant_version: version,
  stores: 'PGlite catalog; embedded index vs Qdrant over loopback HTTP',
  ...cpuFacts(),
};
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else console.log(result);
