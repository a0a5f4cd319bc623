import { QdrantClient } from '@qdrant/js-client-rest';
import type { Schemas } from '@qdrant/js-client-rest';
import { ConflictError, InvalidInputError, NotFoundError, UpstreamUnavailableError } from '../../lib/errors.js';
import { retry } from '../../lib/retry.js';
import type { RetryOptions } from '../../lib/retry.js';
import { DEFAULT_BM25, type Bm25Params } from '../../lexical/bm25.js';
import type {
  CollectionInfo, CollectionSpec, Distance, Filter, Hit, KnnQuery, LexicalQuery, PayloadIndexSpec, StoredPoint, VectorIndex, VectorPoint,
} from '../vector-index.js';
import { NoLexicalIndexError } from '../no-lexical-index-error.js';
import { isTransientQdrantError, qdrantRetryAfterMs, translateQdrantError } from './qdrant-errors.js';
import type { QdrantCallContext } from './qdrant-errors.js';
import { toQdrantFilter } from './qdrant-filter.js';
import { assertVectors, batchPoints, LEXICAL_VECTOR, toHit, toQdrantPoint, toStoredPoint } from './qdrant-points.js';

export interface QdrantIndexOptions {
  /** e.g. `http://localhost:6333`; a path is kept as a prefix (Qdrant behind a proxy). */
  url: string;
  apiKey?: string;
  /** Per-request timeout in ms; the client's own default would be 300 s. */
  timeoutMs: number;
  /** Most points per upsert request. Default 128. */
  upsertBatchPoints?: number;
  /** Approximate most JSON bytes per upsert request. Default 8 MiB (Qdrant refuses bodies over 32 MiB by default). */
  upsertBatchBytes?: number;
  /** Distributed-mode defaults for collections whose spec does not say (cluster deployments). */
  shardNumber?: number;
  replicationFactor?: number;
  writeConsistencyFactor?: number;
  /** The Accept-Encoding sent with every request. Default `identity` (see createClient); `gzip, deflate` is fetch's own, for measuring. */
  acceptEncoding?: string;
  /**
   * BM25 of lexical search. Qdrant applies only the IDF (`modifier: idf`) at query time, so the
   * tf saturation and length normalisation are baked into each point's sparse weights when it
   * is written, against this fixed average length (in tokens) rather than the live one.
   */
  bm25?: Bm25Params & { avgDocLength: number };
  /** Retries of transient failures; the overall deadline defaults to 3 × timeoutMs. */
  retry?: Partial<Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs' | 'deadlineMs'>>;
}

interface Shape {
  dims: number;
  distance: Distance;
  /** Has the named sparse vector LEXICAL_VECTOR. */
  lexical: boolean;
}

type PayloadSchema = Schemas['CollectionInfo']['payload_schema'];

/** The Qdrant release the conformance suite last passed against; docker-compose.yml pins it. */
export const QDRANT_VERIFIED_VERSION = '1.18.3';

const TO_QDRANT_DISTANCE = { cosine: 'Cosine', dot: 'Dot', euclid: 'Euclid' } as const;
const FROM_QDRANT_DISTANCE: Record<string, Distance | undefined> = { Cosine: 'cosine', Dot: 'dot', Euclid: 'euclid' };
const DELETE_IDS_PER_REQUEST = 1000;
/** Tokens per chunk (tokenizer's, after stop words) BM25 normalises against by default: SciFact's chunks average about this. */
export const DEFAULT_AVG_DOC_LENGTH = 170;

function createClient(options: QdrantIndexOptions): QdrantClient {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new InvalidInputError('the Qdrant URL is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError('the Qdrant URL must use http or https');
  const prefix = url.pathname.replace(/\/+$/, '');
  return new QdrantClient({
    url: `${url.protocol}//${url.host}`,
    // The client would put :6333 on a URL without a port and drop its path; keep the URL as written.
    port: null,
    ...(prefix ? { prefix } : {}),
    timeout: options.timeoutMs,
    checkCompatibility: false,
    headers: {
      // Node's fetch asks for gzip, and Qdrant answers larger bodies gzipped and chunked; each
      // such answer then stalled ~40 ms (search p90 9.6 → 49 ms, issue 11). Uncompressed answers
      // come with a Content-Length and no stall; on loopback or a LAN the bytes cost less.
      'accept-encoding': options.acceptEncoding ?? 'identity',
      // Sent as a plain header: the client's apiKey option prints console warnings over http,
      // and only the logger may write (STYLE §7).
      ...(options.apiKey ? { 'api-key': options.apiKey } : {}),
    },
  });
}

/** Dims and distance of a collection's single unnamed vector; ConflictError for any other layout. */
function readShape(name: string, info: Schemas['CollectionInfo']): Shape {
  const vectors = info.config.params.vectors as Partial<Schemas['VectorParams']> | undefined;
  if (typeof vectors?.size !== 'number' || typeof vectors.distance !== 'string') {
    throw new ConflictError(`collection ${name} does not hold one unnamed dense vector per point (named dense vectors are not supported)`);
  }
  const distance = FROM_QDRANT_DISTANCE[vectors.distance];
  if (!distance) throw new ConflictError(`collection ${name} uses ${vectors.distance} distance, which is not supported`);
  return { dims: vectors.size, distance, lexical: info.config.params.sparse_vectors?.[LEXICAL_VECTOR] !== undefined };
}

function assertCount(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw new InvalidInputError(`${name} must be an integer of at least ${min}, got ${value}`);
  }
}

/**
 * Qdrant keeps only hits strictly better than score_threshold (`score > t`, euclid `distance < t`;
 * lib/common/common/src/top_k.rs in v1.18.3) and compares in f32, while the port keeps a hit
 * exactly at the threshold. So ask for a little more and cut exactly here: the extra hits
 * score worse than every wanted one, so they can only fall at the end of a page, and cutting
 * them leaves the very page (offset included) that an inclusive server would have returned.
 */
function relaxThreshold(threshold: number, isDistance: boolean): number {
  const slack = 1e-5 * Math.max(1, Math.abs(threshold));
  return isDistance ? threshold + slack : threshold - slack;
}

function isAlreadyExists(err: unknown): boolean {
  // 409 since Qdrant 1.8; 400 "Wrong input: Collection `x` already exists!" before.
  return err instanceof ConflictError || (err instanceof InvalidInputError && /already exists/i.test(err.detail));
}

/** The vector index on a Qdrant server, over its REST API. */
export class QdrantIndex implements VectorIndex {
  private readonly client: QdrantClient;
  private readonly retryPolicy: Omit<RetryOptions, 'shouldRetry'>;
  private readonly maxBatchPoints: number;
  private readonly maxBatchBytes: number;
  /** Dims/distance by collection or alias name, so a wrong dimension is refused before any write. */
  private readonly shapes = new Map<string, Shape>();
  private readonly closing = new AbortController();

  private readonly options: QdrantIndexOptions;
  private readonly bm25: Bm25Params & { avgDocLength: number };

  constructor(options: QdrantIndexOptions) {
    this.options = options;
    this.bm25 = options.bm25 ?? { ...DEFAULT_BM25, avgDocLength: DEFAULT_AVG_DOC_LENGTH };
    this.client = createClient(options);
    this.maxBatchPoints = options.upsertBatchPoints ?? 128;
    this.maxBatchBytes = options.upsertBatchBytes ?? 8 * 1024 * 1024;
    this.retryPolicy = {
      ...options.retry,
      deadlineMs: options.retry?.deadlineMs ?? 3 * options.timeoutMs,
      retryAfterMs: qdrantRetryAfterMs,
      signal: this.closing.signal,
    };
  }

  /** Runs one client call with retries of transient failures, translating whatever still fails. */
  private async call<T>(ctx: QdrantCallContext, fn: (client: QdrantClient) => Promise<T>): Promise<T> {
    try {
      return await retry(() => fn(this.client), { ...this.retryPolicy, shouldRetry: isTransientQdrantError });
    } catch (err) {
      const translated = translateQdrantError(err, ctx);
      // The collection is gone (deleted behind our back, a lost volume): no cached shape may
      // outlive it, nor any alias that pointed at it, or a re-created one would be judged by
      // the old one's dims (issue 11).
      if (translated instanceof NotFoundError) this.shapes.clear();
      throw translated;
    }
  }

  /** Reads a collection (Qdrant resolves an alias) and caches its shape; undefined when absent. */
  private async describe(name: string): Promise<(Shape & { indexes: PayloadSchema }) | undefined> {
    let info: Schemas['CollectionInfo'];
    try {
      info = await this.call({ action: `read collection ${name}`, collection: name }, (c) => c.getCollection(name));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    const shape = readShape(name, info);
    this.shapes.set(name, shape);
    return { ...shape, indexes: info.payload_schema };
  }

  /** Refuses vectors of the wrong dimension locally, re-reading the collection once before blaming the caller; returns the shape. */
  private async checkVectors(collection: string, vectors: Float32Array[]): Promise<Shape> {
    const cached = this.shapes.get(collection);
    if (cached && vectors.every((v) => v.length === cached.dims)) {
      assertVectors(collection, cached.dims, vectors);
      return cached;
    }
    // A mismatch against the cache may only mean it is stale (an alias moved, a collection recreated).
    const fresh = await this.describe(collection);
    if (!fresh) throw new NotFoundError('collection', collection);
    assertVectors(collection, fresh.dims, vectors);
    return fresh;
  }

  private async ensurePayloadIndexes(name: string, wanted: PayloadIndexSpec[], existing: PayloadSchema): Promise<void> {
    for (const { field, type } of wanted) {
      const current = existing[field]?.data_type;
      if (current === type) continue;
      if (current !== undefined) throw new ConflictError(`collection ${name} indexes payload field ${field} as ${current}, not ${type}`);
      await this.call({ action: `index payload field ${field} of ${name}`, collection: name }, (c) =>
        c.createPayloadIndex(name, { field_name: field, field_schema: type, wait: true }));
    }
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    assertCount('dims', spec.dims, 1);
    let existing = await this.describe(spec.name);
    if (!existing) {
      const ctx = { action: `create collection ${spec.name}`, collection: spec.name };
      try {
        // The dense vector stays unnamed (the default, ""), as in collections made before
        // issue 15, so the dense paths read both alike; BM25 is a named sparse vector beside it.
        await this.call(ctx, (c) => c.createCollection(spec.name, {
          vectors: { size: spec.dims, distance: TO_QDRANT_DISTANCE[spec.distance] },
          ...(spec.lexical ? { sparse_vectors: { [LEXICAL_VECTOR]: { modifier: 'idf' as const } } } : {}),
          shard_number: spec.shardNumber ?? this.options.shardNumber,
          replication_factor: spec.replicationFactor ?? this.options.replicationFactor,
          write_consistency_factor: spec.writeConsistencyFactor ?? this.options.writeConsistencyFactor,
        }));
      } catch (err) {
        // Another process created it between our read and our create: compare with theirs below.
        if (!isAlreadyExists(err)) throw err;
      }
      existing = await this.describe(spec.name);
      if (!existing) throw new UpstreamUnavailableError(`collection ${spec.name} vanished right after it was created`);
    }
    if (existing.dims !== spec.dims || existing.distance !== spec.distance) {
      throw new ConflictError(
        `collection ${spec.name} exists with ${existing.dims} dims and ${existing.distance} distance; ` +
          `requested ${spec.dims} dims and ${spec.distance} distance`,
      );
    }
    await this.ensurePayloadIndexes(spec.name, spec.payloadIndexes ?? [], existing.indexes);
  }

  async collectionInfo(name: string): Promise<CollectionInfo | undefined> {
    const shape = await this.describe(name);
    if (!shape) return undefined;
    try {
      return { name, dims: shape.dims, distance: shape.distance, points: await this.count(name), lexical: shape.lexical };
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  private async listAliases(name: string): Promise<Schemas['AliasDescription'][]> {
    const result = await this.call({ action: 'list aliases', collection: name }, (c) => c.getAliases());
    return result.aliases;
  }

  async dropCollection(name: string): Promise<void> {
    const isAlias = (await this.listAliases(name)).some((a) => a.alias_name === name);
    // Qdrant also drops the aliases of a dropped collection, so any cached alias may now lie.
    this.shapes.clear();
    try {
      if (isAlias) {
        await this.call({ action: `drop alias ${name}`, collection: name }, (c) =>
          c.updateCollectionAliases({ actions: [{ delete_alias: { alias_name: name } }] }));
      } else {
        await this.call({ action: `drop collection ${name}`, collection: name }, (c) => c.deleteCollection(name));
      }
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  async upsert(collection: string, points: VectorPoint[]): Promise<void> {
    if (points.length === 0) return;
    const shape = await this.checkVectors(collection, points.map((p) => p.vector));
    // A collection made before issue 15 has no sparse vector to write into (Qdrant would refuse the point).
    const bm25 = shape.lexical ? this.bm25 : undefined;
    for (const batch of batchPoints(points, this.maxBatchPoints, this.maxBatchBytes)) {
      const body = batch.map((p) => toQdrantPoint(p, bm25));
      await this.call({ action: `upsert into ${collection}`, collection }, (c) => c.upsert(collection, { wait: true, points: body }));
    }
  }

  async deleteByIds(collection: string, ids: string[]): Promise<void> {
    for (let start = 0; start < ids.length; start += DELETE_IDS_PER_REQUEST) {
      const chunk = ids.slice(start, start + DELETE_IDS_PER_REQUEST);
      await this.call({ action: `delete points from ${collection}`, collection }, (c) => c.delete(collection, { wait: true, points: chunk }));
    }
  }

  async deleteByFilter(collection: string, filter: Filter): Promise<void> {
    const qdrantFilter = toQdrantFilter(filter) ?? {};
    await this.call({ action: `delete points from ${collection}`, collection }, (c) => c.delete(collection, { wait: true, filter: qdrantFilter }));
  }

  async search(collection: string, query: KnnQuery): Promise<Hit[]> {
    assertCount('k', query.k, 1);
    assertCount('offset', query.offset, 0);
    const shape = await this.checkVectors(collection, [query.vector]);
    const threshold = query.scoreThreshold;
    const isDistance = shape.distance === 'euclid';
    const request: Schemas['QueryRequest'] = {
      query: Array.from(query.vector),
      limit: query.k,
      offset: query.offset,
      score_threshold: threshold === undefined ? undefined : relaxThreshold(threshold, isDistance),
      filter: toQdrantFilter(query.filter),
      with_payload: true,
      with_vector: false,
    };
    const result = await this.call({ action: `search ${collection}`, collection }, (c) => c.query(collection, request));
    const hits = result.points.map(toHit);
    return threshold === undefined ? hits : hits.filter((h) => (isDistance ? h.score <= threshold : h.score >= threshold));
  }

  async searchLexical(collection: string, query: LexicalQuery): Promise<Hit[]> {
    assertCount('k', query.k, 1);
    assertCount('offset', query.offset, 0);
    const shape = this.shapes.get(collection) ?? (await this.describe(collection));
    if (!shape) throw new NotFoundError('collection', collection);
    if (!shape.lexical) throw new NoLexicalIndexError(collection);
    if (query.terms.indices.length === 0) return [];
    const request: Schemas['QueryRequest'] = {
      query: { indices: Array.from(query.terms.indices), values: Array.from(query.terms.values) },
      using: LEXICAL_VECTOR,
      limit: query.k,
      offset: query.offset,
      filter: toQdrantFilter(query.filter),
      with_payload: true,
      with_vector: false,
    };
    const result = await this.call({ action: `search ${collection}`, collection }, (c) => c.query(collection, request));
    return result.points.map(toHit);
  }

  async count(collection: string, filter?: Filter): Promise<number> {
    const result = await this.call({ action: `count points in ${collection}`, collection }, (c) =>
      c.count(collection, { filter: toQdrantFilter(filter), exact: true }));
    return result.count;
  }

  async *iterate(collection: string, options: { batchSize?: number; withVectors?: boolean; filter?: Filter } = {}): AsyncIterable<StoredPoint[]> {
    const limit = options.batchSize ?? 256;
    assertCount('batchSize', limit, 1);
    const filter = toQdrantFilter(options.filter);
    let offset: Schemas['ExtendedPointId'] | undefined;
    do {
      const from = offset;
      const page = await this.call({ action: `scroll ${collection}`, collection }, (c) =>
        c.scroll(collection, { limit, offset: from, filter, with_payload: true, with_vector: options.withVectors ?? false }));
      if (page.points.length > 0) yield page.points.map((record) => toStoredPoint(record, collection));
      offset = (page.next_page_offset ?? undefined) as Schemas['ExtendedPointId'] | undefined;
    } while (offset !== undefined);
  }

  async setAlias(alias: string, collection: string): Promise<void> {
    // Qdrant applies the actions one by one and keeps the delete even when the create then
    // fails, so make sure the create cannot fail for a missing or aliased target first.
    if ((await this.listAliases(collection)).some((a) => a.alias_name === collection)) {
      throw new InvalidInputError(`${collection} is an alias; an alias must point at a collection`);
    }
    if (!(await this.describe(collection))) throw new NotFoundError('collection', collection);
    await this.call({ action: `point alias ${alias} at ${collection}`, collection }, (c) =>
      c.updateCollectionAliases({
        actions: [{ delete_alias: { alias_name: alias } }, { create_alias: { collection_name: collection, alias_name: alias } }],
      }));
    this.shapes.delete(alias);
  }

  /** Cuts pending retry waits short. The client's keep-alive sockets close on their own idle timeout (10 s). */
  async close(): Promise<void> {
    this.closing.abort();
    this.shapes.clear();
  }
}
