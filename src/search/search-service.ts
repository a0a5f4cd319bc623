import { and, eq, inArray } from 'drizzle-orm';
import type { AppDeps } from '../app-deps.js';
import { getCollection, type CollectionRecord } from '../catalog/collections.js';
import { countDocuments, documentChunks, findDocument } from '../catalog/documents.js';
import { documents } from '../db/schema.js';
import { embeddedText } from '../ingest/ingest-documents.js';
import { InvalidInputError, NotFoundError, UpstreamUnavailableError } from '../lib/errors.js';
import type { Condition, Filter, Hit } from '../vectors/vector-index.js';
import type { SearchRequest } from './search-schemas.js';

/** What a search needs: the catalog, the index and the model that embeds queries. */
export type SearchDeps = Pick<AppDeps, 'db' | 'index' | 'embedder'>;

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
    const [e] = await deps.embedder.embed([req.query], { priority: 'interactive', signal, prefix: collection.queryPrefix });
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
  const [first] = doc ? await documentChunks(deps.db, doc.id) : [];
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

/**
 * k-NN over chunks, grouped by document (best chunk per document), with filters, threshold
 * and paging over documents. Throws NotFoundError, InvalidInputError, OverloadedError, and
 * UpstreamUnavailableError when the index is down or its collection is missing.
 */
export async function searchDocuments(deps: SearchDeps, collectionName: string, req: SearchRequest, signal?: AbortSignal) {
  const started = performance.now();
  const collection = await getCollection(deps.db, collectionName);
  const { vector, tokens } = await queryVector(deps, collection, req, signal);
  const wanted = req.offset + req.k + (req.like ? 1 : 0);
  const filter = toIndexFilter(req.filter);
  // Long documents have several chunks; ask for more chunks until enough documents appear.
  let best = new Map<string, Hit>();
  for (let chunksAsked = wanted * 2; ; chunksAsked *= 4) {
    const hits = await deps.index
      .search(collection.indexName, { vector, k: Math.min(chunksAsked, 10_000), filter, scoreThreshold: req.score_threshold })
      .catch((err: unknown) => (err instanceof NotFoundError ? missingIndex(deps, collection) : Promise.reject(err)));
    if (hits.some((hit) => !Number.isFinite(hit.score))) {
      throw new InvalidInputError('the query vector gives scores beyond float32 range; scale it down', [{ pointer: req.vector ? '/vector' : '/query', detail: 'gives non-finite scores' }]);
    }
    best = new Map();
    for (const hit of hits) {
      const id = String(hit.payload.document_id);
      if (!best.has(id)) best.set(id, hit);
    }
    if (best.size >= wanted || hits.length < chunksAsked || chunksAsked >= 10_000) break;
  }
  const ranked = [...best.values()].filter((h) => h.payload.document_id !== req.like).slice(req.offset, req.offset + req.k);
  const ids = ranked.map((h) => String(h.payload.document_id));
  const rows = ids.length === 0 ? [] : await deps.db.select().from(documents).where(and(eq(documents.collectionId, collection.id), inArray(documents.externalId, ids)));
  const byId = new Map(rows.map((r) => [r.externalId, r]));
  const results = ranked.flatMap((hit) => {
    const doc = byId.get(String(hit.payload.document_id));
    if (!doc) return []; // deleted after the index answered; the outbox will remove its points
    const start = Number(hit.payload.start);
    const end = Number(hit.payload.end);
    return [{
      id: doc.externalId, score: hit.score, title: doc.title, metadata: doc.metadata, labels: doc.labels,
      chunk: { index: Number(hit.payload.chunk_index), start, end, ...(req.with_text ? { text: embeddedText(doc).slice(start, end) } : {}) },
    }];
  });
  return { results, ...(tokens !== undefined ? { query_tokens: tokens } : {}), took_ms: Number((performance.now() - started).toFixed(2)) };
}
