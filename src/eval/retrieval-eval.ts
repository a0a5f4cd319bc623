import { createReadStream } from 'node:fs';
import { onlyEmbedder } from '../embedding/embedder-registry.js';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { collectionConfigFor, defaultChunkOverlap } from '../app-deps.js';
import { dropCollectionRecord, ensureCollectionRecord, findCollection } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import type { Embedder } from '../embedding/embedder.js';
import { InvalidInputError } from '../lib/errors.js';
import { importAndIndex } from '../imports/import-and-index.js';
import type { ImportError } from '../imports/import-records.js';
import { parseNdjson } from '../ingest/parsers/ndjson.js';
import { OutboxWorker } from '../outbox/outbox-worker.js';
import { searchDocuments } from '../search/search-service.js';
import type { FusionMethod } from '../search/fusion.js';
import type { VectorIndex } from '../vectors/vector-index.js';
import { locateBeirDataset, readQrels, readQueries } from './beir-dataset.js';
import { meanScores, scoreQuery, type RankedHit } from './retrieval-metrics.js';

export interface RetrievalEvalOptions {
  db: Database;
  index: VectorIndex;
  embedder: Embedder;
  /** A BEIR-format dataset directory. */
  dataset: string;
  split?: string;
  /** Collection to ingest into; default `eval-<dataset dir name>`. */
  collection?: string;
  /** Keep an existing collection of that name (unchanged documents are not embedded again) instead of starting fresh. */
  reuse?: boolean;
  /** Search modes to score, each over the same ingested collection; default hybrid. The first one's figures are the top-level ones. */
  modes?: SearchMode[];
  /** How hybrid fuses (default: the search default). */
  fusion?: { method: FusionMethod; dense_weight: number; rrf_k: number };
  /** Queries in flight at once; the batcher packs them into shared batches. */
  concurrency?: number;
  onProgress?: (p: { phase: 'ingest' | 'search'; done: number; total: number }) => void;
  /** Each query's ranked documents, for a TREC run file. */
  onQuery?: (queryId: string, ranked: RankedHit[], mode: SearchMode) => void;
  signal?: AbortSignal;
}

export type SearchMode = 'dense' | 'lexical' | 'hybrid';

export interface ModeScores {
  ndcg_at_10: number;
  recall_at_10: number;
  recall_at_100: number;
  mrr_at_10: number;
  search_seconds: number;
}

export interface RetrievalEvalResult {
  /** The mode of the top-level figures (the first asked for). */
  mode: SearchMode;
  /** Figures of every mode asked for. */
  modes: Partial<Record<SearchMode, ModeScores>>;
  dataset: string;
  split: string;
  collection: string;
  model: { id: string; revision: string | null; pooling: string; normalize: boolean; max_tokens: number; dims: number; prompts: { query: string; document: string } };
  docs: number;
  /** Corpus records that could not be ingested (each one weakens the figures). */
  failed_docs: number;
  queries: number;
  /** Judged queries without text in queries.jsonl, left out. */
  skipped_queries: number;
  ndcg_at_10: number;
  recall_at_10: number;
  recall_at_100: number;
  mrr_at_10: number;
  ingest_seconds: number;
  search_seconds: number;
  seconds: number;
  errors: ImportError[];
}

const RETRIEVE_K = 100;

/**
 * Evaluates retrieval on a BEIR dataset end to end: the corpus goes through the normal
 * ingestion pipeline (chunking, document prompt, catalog, outbox, index) into a fresh
 * collection, every judged query through the normal search (query prompt, grouping by
 * document), and the run is scored as trec_eval does. Throws InvalidInputError for a
 * malformed dataset, ConflictError when `reuse` meets a collection of another model.
 */
export async function evaluateRetrieval(opts: RetrievalEvalOptions): Promise<RetrievalEvalResult> {
  const started = performance.now();
  const split = opts.split ?? 'test';
  const files = await locateBeirDataset(opts.dataset, split);
  const [queries, qrels] = await Promise.all([readQueries(files.queries), readQrels(files.qrels)]);
  const judgedIds = [...qrels.keys()];
  const queryIds = judgedIds.filter((id) => queries.has(id));
  const name = opts.collection ?? `eval-${basename(opts.dataset.replace(/[\\/]+$/, '')).replace(/[^A-Za-z0-9_-]/g, '-')}`;

  if (!opts.reuse && (await findCollection(opts.db, name))) {
    await dropCollectionRecord(opts.db, name);
    await new OutboxWorker({ db: opts.db, index: opts.index }).drain(60_000); // the old index collection must be gone before the new one, of the same name, fills
  }
  const collection = await ensureCollectionRecord(opts.db, collectionConfigFor(opts.embedder)(name, { distance: 'cosine', chunkOverlap: defaultChunkOverlap(opts.embedder) }));

  const corpusBytes = (await stat(files.corpus)).size;
  const source = createReadStream(files.corpus);
  const { progress: imported, errors } = await importAndIndex({
    db: opts.db, index: opts.index, embedder: opts.embedder, collection, records: parseNdjson(source, {}), signal: opts.signal,
    onBatch: () => opts.onProgress?.({ phase: 'ingest', done: source.bytesRead, total: corpusBytes }),
    drainTimeoutMs: 30 * 60_000,
  });
  // A reused collection may predate the lexical index, or have lost its index collection:
  // build it from the stored chunks (no re-embedding).
  const worker = new OutboxWorker({ db: opts.db, index: opts.index });
  const rebuilt = [...(await worker.rebuildMissingIndexes()), ...(await worker.buildLexicalIndexes())];
  if (rebuilt.length > 0) await worker.drain(30 * 60_000);
  const ingestSeconds = (performance.now() - started) / 1000;

  const round = (x: number) => Number(x.toFixed(5));
  const modes = opts.modes && opts.modes.length > 0 ? opts.modes : (['hybrid'] as SearchMode[]);
  const unknown = modes.find((m) => !['dense', 'lexical', 'hybrid'].includes(m));
  if (unknown !== undefined) throw new InvalidInputError(`unknown search mode ${unknown}: dense, lexical or hybrid`);
  const scores: Partial<Record<SearchMode, ModeScores>> = {};
  let searchSeconds = 0;
  for (const [m, mode] of modes.entries()) {
    const searchStarted = performance.now();
    const perQuery = await mapConcurrently(queryIds, opts.concurrency ?? 8, async (qid) => {
      const res = await searchDocuments({ db: opts.db, index: opts.index, embedders: onlyEmbedder(opts.embedder) }, name, { query: queries.get(qid)!, k: RETRIEVE_K, offset: 0, with_text: false, mode, fusion: opts.fusion }, opts.signal);
      const ranked = res.results.map((r) => ({ id: r.id, score: r.score }));
      opts.onQuery?.(qid, ranked, mode);
      return scoreQuery(ranked, qrels.get(qid)!);
    }, (done) => opts.onProgress?.({ phase: 'search', done: m * queryIds.length + done, total: queryIds.length * modes.length }));
    const mean = meanScores(perQuery);
    const seconds = (performance.now() - searchStarted) / 1000;
    searchSeconds += seconds;
    scores[mode] = { ndcg_at_10: round(mean.ndcgAt10), recall_at_10: round(mean.recallAt10), recall_at_100: round(mean.recallAt100), mrr_at_10: round(mean.mrrAt10), search_seconds: round(seconds) };
  }
  const first = scores[modes[0]!]!;
  return {
    mode: modes[0]!, modes: scores,
    dataset: opts.dataset, split, collection: name,
    model: { id: collection.modelId, revision: collection.modelRevision, pooling: collection.pooling, normalize: collection.normalize, max_tokens: collection.maxTokens, dims: collection.dims, prompts: { query: collection.queryPrefix, document: collection.documentPrefix } },
    docs: imported.done, failed_docs: imported.failed, queries: queryIds.length, skipped_queries: judgedIds.length - queryIds.length,
    ndcg_at_10: first.ndcg_at_10, recall_at_10: first.recall_at_10, recall_at_100: first.recall_at_100, mrr_at_10: first.mrr_at_10,
    ingest_seconds: round(ingestSeconds), search_seconds: round(searchSeconds), seconds: round((performance.now() - started) / 1000),
    errors,
  };
}

/** Maps with at most `limit` calls in flight, keeping input order. */
async function mapConcurrently<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>, onDone: (done: number) => void): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
      onDone((done += 1));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
