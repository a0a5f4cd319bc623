/**
 * The vector index port. Points go in, hits come out; no vendor type crosses it. Two
 * adapters implement it (Qdrant, embedded) and one conformance suite (contract.case.ts)
 * holds them to the same behaviour.
 */
export type Distance = 'cosine' | 'dot' | 'euclid';

export type PayloadValue = string | number | boolean | null | PayloadValue[] | { [key: string]: PayloadValue };
export type Payload = Record<string, PayloadValue>;

export interface PayloadIndexSpec {
  /** Dotted path into the payload, e.g. `metadata.year`. */
  field: string;
  type: 'keyword' | 'integer' | 'float' | 'bool';
}

export interface CollectionSpec {
  name: string;
  dims: number;
  distance: Distance;
  payloadIndexes?: PayloadIndexSpec[];
  /**
   * Keep a lexical (BM25) index beside the dense one, over the points' term vectors. An
   * existing collection without one gets it where the adapter can add it in place (embedded);
   * Qdrant cannot add a sparse vector to a collection, so there it stays without (see
   * CollectionInfo.lexical).
   */
  lexical?: boolean;
  /** Qdrant distributed mode; the embedded index ignores these. */
  shardNumber?: number;
  replicationFactor?: number;
  writeConsistencyFactor?: number;
}

/** A sparse vector: term ids (ascending, unique, u32) and their counts. */
export interface SparseVector {
  indices: Uint32Array;
  values: Float32Array;
}

export interface VectorPoint {
  /** A UUID (see pointId()). */
  id: string;
  vector: Float32Array;
  payload: Payload;
  /** Term frequencies of the point's text (lexical/term-vector.ts); kept where the collection is lexical, ignored elsewhere. */
  terms?: SparseVector;
}

/**
 * A condition on one payload field. Arrays in the payload match when any element matches
 * (Qdrant's semantics), so `{ key: 'labels', match: 'cancer' }` finds points labelled cancer.
 */
export type Condition =
  | { key: string; match: string | number | boolean }
  | { key: string; any: (string | number)[] }
  | { key: string; range: { gt?: number; gte?: number; lt?: number; lte?: number } };

/** All conditions must hold. */
export interface Filter {
  must: Condition[];
}

export interface KnnQuery {
  vector: Float32Array;
  k: number;
  filter?: Filter;
  /** cosine/dot: keep hits scoring at least this; euclid: keep hits at most this far. */
  scoreThreshold?: number;
  /** Hits to skip (paging). */
  offset?: number;
}

/** BM25 over the points' term vectors. */
export interface LexicalQuery {
  /** The query's term counts (lexical/term-vector.ts), from the same tokenizer as the points'. */
  terms: SparseVector;
  k: number;
  filter?: Filter;
  /** Hits to skip (paging). */
  offset?: number;
}

export interface Hit {
  id: string;
  /** cosine/dot: similarity, higher is closer; euclid: distance, lower is closer. */
  score: number;
  payload: Payload;
}

export interface StoredPoint {
  id: string;
  payload: Payload;
  vector?: Float32Array;
  /** With vectors, on a lexical collection: the ids of the terms the point holds (ascending), if any. */
  termIds?: Uint32Array;
}

export interface CollectionInfo {
  name: string;
  dims: number;
  distance: Distance;
  points: number;
  /** Whether the collection keeps a lexical (BM25) index, i.e. searchLexical() works on it. */
  lexical: boolean;
}

export interface VectorIndex {
  /** Creates the collection, or checks an existing one agrees. Throws ConflictError naming dims/distance on mismatch. */
  ensureCollection(spec: CollectionSpec): Promise<void>;
  /** Undefined when absent. Resolves aliases. */
  collectionInfo(name: string): Promise<CollectionInfo | undefined>;
  /** Drops a collection and its data; absent is fine. */
  dropCollection(name: string): Promise<void>;
  /** Inserts or overwrites points by id; durable when it returns. Throws InvalidInputError on a wrong dimension, NotFoundError on no collection. */
  upsert(collection: string, points: VectorPoint[]): Promise<void>;
  /** Deletes points by id; absent ids are fine. */
  deleteByIds(collection: string, ids: string[]): Promise<void>;
  /** Deletes every point matching the filter (e.g. all chunks of one document). */
  deleteByFilter(collection: string, filter: Filter): Promise<void>;
  /** Nearest points, best first. Throws InvalidInputError on a wrong dimension. */
  search(collection: string, query: KnnQuery): Promise<Hit[]>;
  /**
   * BM25 (IDF as Lucene's, k1/b as the adapter was configured), best first; points without
   * terms never match. Throws NotFoundError on no collection, InvalidInputError when the
   * collection has no lexical index.
   */
  searchLexical(collection: string, query: LexicalQuery): Promise<Hit[]>;
  /** Exact count, optionally filtered. */
  count(collection: string, filter?: Filter): Promise<number>;
  /** Every point, in batches; with vectors when asked. Order is stable but unspecified. */
  iterate(collection: string, options?: { batchSize?: number; withVectors?: boolean; filter?: Filter }): AsyncIterable<StoredPoint[]>;
  /** Points alias at collection atomically (creating or moving it). */
  setAlias(alias: string, collection: string): Promise<void>;
  /** Releases files, sockets and timers. */
  close(): Promise<void>;
}
