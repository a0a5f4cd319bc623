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
  /** Qdrant distributed mode; the embedded index ignores these. */
  shardNumber?: number;
  replicationFactor?: number;
  writeConsistencyFactor?: number;
}

export interface VectorPoint {
  /** A UUID (see pointId()). */
  id: string;
  vector: Float32Array;
  payload: Payload;
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
}

export interface CollectionInfo {
  name: string;
  dims: number;
  distance: Distance;
  points: number;
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
  /** Exact count, optionally filtered. */
  count(collection: string, filter?: Filter): Promise<number>;
  /** Every point, in batches; with vectors when asked. Order is stable but unspecified. */
  iterate(collection: string, options?: { batchSize?: number; withVectors?: boolean; filter?: Filter }): AsyncIterable<StoredPoint[]>;
  /** Points alias at collection atomically (creating or moving it). */
  setAlias(alias: string, collection: string): Promise<void>;
  /** Releases files, sockets and timers. */
  close(): Promise<void>;
}
