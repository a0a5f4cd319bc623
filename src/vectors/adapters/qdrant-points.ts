import type { Schemas } from '@qdrant/js-client-rest';
import { ConflictError, InvalidInputError } from '../../lib/errors.js';
import { bm25TermWeight, type Bm25Params } from '../../lexical/bm25.js';
import { termCount } from '../../lexical/term-vector.js';
import type { Hit, Payload, StoredPoint, VectorPoint } from '../vector-index.js';

/** The named sparse vector that holds a point's BM25 term weights. */
export const LEXICAL_VECTOR = 'bm25';

// A float32 widened to a double prints as up to ~22 characters (-1.2345678149414063e-7) plus
// a comma; over-estimating keeps a batch under the byte budget.
const JSON_BYTES_PER_DIM = 24;
const JSON_BYTES_PER_POINT = 80;

/** Approximate size in bytes of one point in the upsert body. */
export function estimatePointBytes(point: VectorPoint): number {
  return JSON_BYTES_PER_POINT + point.id.length + (point.vector.length + 2 * (point.terms?.indices.length ?? 0)) * JSON_BYTES_PER_DIM + Buffer.byteLength(JSON.stringify(point.payload));
}

/**
 * Splits points into upsert batches of at most `maxPoints` points and about `maxBytes` bytes of
 * JSON, in order, so a later write of the same id still lands last. A point bigger than
 * `maxBytes` on its own goes alone.
 */
export function* batchPoints(points: VectorPoint[], maxPoints: number, maxBytes: number): Generator<VectorPoint[]> {
  let batch: VectorPoint[] = [];
  let bytes = 0;
  for (const point of points) {
    const size = estimatePointBytes(point);
    if (batch.length > 0 && (batch.length >= maxPoints || bytes + size > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(point);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * Refuses vectors that do not have `dims` finite components: Qdrant would answer 400 for a wrong
 * length, and JSON would silently turn NaN/Infinity into null.
 *
 * @throws InvalidInputError naming the expected and the given dims, or the bad component.
 */
export function assertVectors(collection: string, dims: number, vectors: Float32Array[]): void {
  for (const [i, vector] of vectors.entries()) {
    if (vector.length !== dims) {
      throw new InvalidInputError(`vector dimension mismatch: collection ${collection} expects ${dims} dims, got ${vector.length}`, [
        { pointer: `/${i}/vector`, detail: `expected ${dims} dims, got ${vector.length}` },
      ]);
    }
    const bad = vector.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new InvalidInputError(`vector component ${bad} is ${vector[bad]}; only finite numbers can be stored`, [
        { pointer: `/${i}/vector/${bad}`, detail: 'not a finite number' },
      ]);
    }
  }
}

/**
 * One point as Qdrant's upsert body wants it: a plain number array for the unnamed vector or,
 * with `bm25` (a lexical collection) and terms, the unnamed vector ("") and the sparse one.
 */
export function toQdrantPoint(point: VectorPoint, bm25?: Bm25Params & { avgDocLength: number }): Schemas['PointStruct'] {
  const dense = Array.from(point.vector);
  if (!bm25 || !point.terms || point.terms.indices.length === 0) return { id: point.id, vector: dense, payload: point.payload };
  const length = termCount(point.terms);
  const values = Array.from(point.terms.values, (tf) => bm25TermWeight(tf, length, bm25.avgDocLength, bm25));
  return { id: point.id, vector: { '': dense, [LEXICAL_VECTOR]: { indices: Array.from(point.terms.indices), values } }, payload: point.payload };
}

function toPayload(payload: unknown): Payload {
  return (payload ?? {}) as Payload;
}

/** A scored point from Qdrant's query API as a port hit. */
export function toHit(point: Schemas['ScoredPoint']): Hit {
  return { id: String(point.id), score: point.score, payload: toPayload(point.payload) };
}

/**
 * A scrolled record as a stored point, its vector as a Float32Array when one came back.
 *
 * @throws ConflictError when the vector is not one unnamed dense vector (a collection made by another tool).
 */
export function toStoredPoint(record: Schemas['Record'], collection: string): StoredPoint {
  const stored: StoredPoint = { id: String(record.id), payload: toPayload(record.payload) };
  let vector: unknown = record.vector;
  if (vector === undefined || vector === null) return stored;
  if (typeof vector === 'object' && !Array.isArray(vector) && '' in vector) {
    // A point of a lexical collection with terms: its vectors by name. The sparse values are
    // BM25 weights, not counts; only the ids say which terms the point holds.
    const named = vector as Record<string, unknown>;
    const sparse = named[LEXICAL_VECTOR] as { indices?: number[] } | undefined;
    if (sparse?.indices) stored.termIds = Uint32Array.from(sparse.indices);
    vector = named[''];
  }
  if (!Array.isArray(vector) || vector.some((x) => typeof x !== 'number')) {
    throw new ConflictError(`collection ${collection} does not hold one unnamed dense vector per point`);
  }
  stored.vector = Float32Array.from(vector as number[]);
  return stored;
}
