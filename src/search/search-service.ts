import { and, eq, inArray } from 'drizzle-orm';
import { embedderFor, type AppDeps } from '../app-deps.js';
import type { EmbedderSource } from '../jobs/job-kind.js';
import { getCollection, type CollectionRecord } from '../catalog/collections.js';
import { countDocuments, documentChunks, findDocument } from '../catalog/documents.js';
import { documents } from '../db/schema.js';
import { embeddedText } from '../ingest/ingest-documents.js';
import { InvalidInputError, NotFoundError, UpstreamUnavailableError } from '../lib/errors.js';
import type { Condition, Filter, Hit } from '../vectors/vector-index.js';
import { termVector } from '../lexical/term-vector.js';
import { NoLexicalIndexError } from '../vectors/no-lexical-index-error.js';
import { DEFAULT_FUSION, fuseRankings, type LegPlace } from './fusion.js';
import type { SearchRequest } from './search-schemas.js';

/** What a search needs: the catalog, the index and the model that embeds queries. */
export type SearchDeps = Pick<AppDeps, 'db' | 'index'> & { embedders: EmbedderSource };

export function toIndexFilter(filter: SearchRequest["filter"]): Filter | undefined {
  const must: Condition[] = [];
  for (const [key, value] of Object.entries(filter?.metadata ?? {})) {
    must.push(Array.isArray(value) ? { key: `metadata.${key}`, any: value } : { key: `metadata.${key}`, match: value });
  }
  if (filter?.labels) must.push({ key: 'labels', any: filter.labels });
  if (filter?.year) must.push({ key: 'year', range: { gte: filter.year.gte, lte: filter.year.lte } });
  return must.length > 0 ? { must } : undefined;
}

async function queryVector(deps: SearchDeps, collection: CollectionRecord, req: SearchRequest, signal?: AbortSignal): Promise<{ vector: Float32Array; tokens?: number }> {
  if (req.query !== undefined) {
    // The collection's current version's model: after a version switch, the new one.
    const embedder = await embedderFor(deps, collection);
    const [e] = await embedder.embed([req.query], { priority: 'interactive', signal, prefix: collection.queryPrefix });
    return { vector: e!.vector, tokens: e!.tokens };
  }
  if (req.vector) {
    if (req.vector.length !== collection.dims) {
      throw new InvalidInputError(`vector has ${req.vector.length} dimensions; collection ${collection.name} holds ${collection.dims}`, [{ pointer: '/vector', detail: `expected ${collection.dims} numbers` }]);
    }
    const vector = Float32Array.from(req.vector);
    // Scores are computed in float32: a norm that underflows to 0 (cosine divides by it) or
    // overflows would give NaN or Infinity scores, which JSON can only write as null.
    let norm2 = 0;
    for (const x of vector) norm2 = Math.fround(norm2 + Math.fround(x * x));
    if (!Number.isFinite(norm2) || (collection.distance === 'cosine' && norm2 === 0)) {
      throw new InvalidInputError(`the query vector's length ${norm2 === 0 ? 'is zero' : 'overflows float32'}; it cannot be scored by ${collection.distance}`, [{ pointer: '/vector', detail: norm2 === 0 ? 'is a zero vector' : 'is too large for float32 scoring' }]);
    }
    return { vector };
  }
  // 422, not 404: the route exists and so does the collection; a 404 here would read as
  // "no such collection" to clients (and to schemathesis' resource checks).
  const doc = await findDocument(deps.db, collection, req.like!);
  const [first] = doc ? await documentChunks(deps.db, doc.id, collection.version) : [];
  if (!first) throw new InvalidInputError(`like: collection ${collection.name} has no document ${req.like!}`, [{ pointer: '/like', detail: 'no such document in this collection' }]);
  return { vector: first.vector };
}

/**
 * The index collection does not exist. With no document yet that is the truth (the worker
 * creates it with the first point); with documents it was lost, and "no hits" would hide that:
 * answer 503 while the outbox worker rebuilds it from the catalog (issue 11).
 */
async function missingIndex(deps: SearchDeps, collection: CollectionRecord): Promise<Hit[]> {
  if ((await countDocuments(deps.db, collection)) === 0) return [];
  throw new UpstreamUnavailableError(`the vector index of collection ${collection.name} is not there yet (its first points are still being written) or was lost (it is being rebuilt from the catalog); retry shortly`);
}

type Mode = 'dense' | 'lexical' | 'hybrid';

/** Fewest documents each hybrid leg ranks: fusion needs more than the page to reorder it. */
const FUSION_DEPTH = 50;

/**
 * Best chunk per document, best first, until `wanted` documents (long documents have several
 * chunks: ask for more chunks until enough documents appear).
 */
async function rankDocuments(fetchChunks: (k: number) => Promise<Hit[]>, wanted: number): Promise<Hit[]> {
  let best = new Map<string, Hit>();
  for (let chunksAsked = wanted * 2; ; chunksAsked *= 4) {
    const k = Math.min(chunksAsked, 10_000);
    const hits = await fetchChunks(k);
    best = new Map();
    for (const hit of hits) {
      const id = String(hit.payload.document_id);
      if (!best.has(id)) best.set(id, hit);
    }
    if (best.size >= wanted || hits.length < k || k >= 10_000) break;
  }
  return [...best.values()];
}

interface RankedDocument {
  hit: Hit;
  score: number;
  legs: { dense?: LegPlace; lexical?: LegPlace };
}

const place = (hits: Hit[], leg: 'dense' | 'lexical'): RankedDocument[] => hits.map((hit, i) => ({ hit, score: hit.score, legs: { [leg]: { rank: i + 1, score: hit.score } } }));

/**
 * Search over chunks, grouped by document (best chunk per document), in one of three modes:
 * dense k-NN, lexical BM25, or both fused (see fusion.ts); filters apply to every leg,
 * threshold and paging to the final ranking. Throws NotFoundError, InvalidInputError (also
 * for lexical/hybrid on a collection without a lexical index), OverloadedError, and
 * UpstreamUnavailableError when the index is down or its collection is missing.
 */
export async function searchDocuments(deps: SearchDeps, collectionName: string, req: SearchRequest, signal?: AbortSignal) {
  const started = performance.now();
  const collection = await getCollection(deps.db, collectionName);
  const wanted = req.offset + req.k + (req.like ? 1 : 0);
  const filter = toIndexFilter(req.filter);
  const onMissing = (err: unknown) => (err instanceof NotFoundError ? missingIndex(deps, collection) : Promise.reject(err));
  const terms = req.query !== undefined ? termVector(req.query) : undefined;
  // A score_threshold without a mode is a similarity threshold from a client written before
  // hybrid search (issue 15): keep answering it in dense mode, where it means what it did.
  let mode: Mode = req.mode ?? (terms && req.score_threshold === undefined ? 'hybrid' : 'dense');
  const depth = mode === 'hybrid' ? Math.max(wanted, FUSION_DEPTH) : wanted;

  const lexicalLeg = async (): Promise<Hit[] | undefined> => {
    if (mode === 'dense') return undefined;
    try {
      return await rankDocuments((k) => deps.index.searchLexical(collection.indexName, { terms: terms!, k, filter }).catch(onMissing), depth);
    } catch (err) {
      // Only the default may quietly fall back: a client that asked for lexical hears why not.
      if (err instanceof NoLexicalIndexError && req.mode === undefined) return undefined;
      throw err;
    }
  };
  const denseLeg = async (): Promise<{ hits: Hit[]; tokens?: number } | undefined> => {
    if (mode === 'lexical') return undefined;
    const { vector, tokens } = await queryVector(deps, collection, req, signal);
    // In dense mode the threshold is on the dense score, so the index can cut by it.
    const scoreThreshold = mode === 'dense' ? req.score_threshold : undefined;
    const hits = await rankDocuments(async (k) => {
      const chunks = await deps.index.search(collection.indexName, { vector, k, filter, scoreThreshold }).catch(onMissing);
      if (chunks.some((hit) => !Number.isFinite(hit.score))) {
        throw new InvalidInputError('the query vector gives scores beyond float32 range; scale it down', [{ pointer: req.vector ? '/vector' : '/query', detail: 'gives non-finite scores' }]);
      }
      return chunks;
    }, depth);
    return { hits, tokens };
  };
  const [dense, lexical] = await Promise.all([denseLeg(), lexicalLeg()]);
  if (mode === 'hybrid' && !lexical) mode = 'dense';

  let ranked: RankedDocument[];
  if (mode === 'hybrid') {
    const key = (hit: Hit) => String(hit.payload.document_id);
    const fusion = req.fusion ? { method: req.fusion.method, denseWeight: req.fusion.dense_weight, rrfK: req.fusion.rrf_k } : DEFAULT_FUSION;
    // Euclid hits carry distances: lower is closer, so they fuse negated.
    const sign = collection.distance === 'euclid' ? -1 : 1;
    ranked = fuseRankings(dense!.hits.map((hit) => ({ key: key(hit), score: hit.score, fusionScore: sign * hit.score, item: hit })), lexical!.map((hit) => ({ key: key(hit), score: hit.score, item: hit })), fusion)
      .map((f) => ({ hit: f.item, score: f.score, legs: f.legs }));
  } else {
    ranked = mode === 'dense' ? place(dense!.hits, 'dense') : place(lexical!, 'lexical');
  }
  if (mode !== 'dense' && req.score_threshold !== undefined) ranked = ranked.filter((r) => r.score >= req.score_threshold!);
  const page = ranked.filter((r) => r.hit.payload.document_id !== req.like).slice(req.offset, req.offset + req.k);
  const ids = page.map((r) => String(r.hit.payload.document_id));
  const rows = ids.length === 0 ? [] : await deps.db.select().from(documents).where(and(eq(documents.collectionId, collection.id), inArray(documents.externalId, ids)));
  const byId = new Map(rows.map((r) => [r.externalId, r]));
  const results = page.flatMap(({ hit, score, legs }) => {
    const doc = byId.get(String(hit.payload.document_id));
    if (!doc) return []; // deleted after the index answered; the outbox will remove its points
    const start = Number(hit.payload.start);
    const end = Number(hit.payload.end);
    return [{
      id: doc.externalId, score, title: doc.title, metadata: doc.metadata, labels: doc.labels,
      chunk: { index: Number(hit.payload.chunk_index), start, end, ...(req.with_text ? { text: embeddedText(doc).slice(start, end) } : {}) },
      legs,
    }];
  });
  const tokens = dense?.tokens;
  return { results, mode, ...(tokens !== undefined ? { query_tokens: tokens } : {}), took_ms: Number((performance.now() - started).toFixed(2)) };
}
