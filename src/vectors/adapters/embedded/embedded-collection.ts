import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import usearch from 'usearch';
import { InvalidInputError } from '../../../lib/errors.js';
import { NoLexicalIndexError } from '../../no-lexical-index-error.js';
import type { Bm25Params } from '../../../lexical/bm25.js';
import type { CollectionSpec, Distance, Filter, Hit, KnnQuery, LexicalQuery, Payload, PayloadIndexSpec, SparseVector, StoredPoint, VectorPoint } from '../../vector-index.js';
import { LexicalStore } from './lexical-store.js';
import { PointStore } from './point-store.js';
import { readCurrent, readSnapshot, walPath, writeMeta, writeSnapshot } from './snapshot-files.js';
import { TopK } from './top-k.js';
import { WriteAheadLog } from './write-ahead-log.js';

export interface CollectionMeta {
  dims: number;
  distance: Distance;
  payloadIndexes: PayloadIndexSpec[];
  /** Keeps a BM25 index over the points' term vectors (absent in collections made before issue 15). */
  lexical?: boolean;
}

export interface TuningOptions {
  /** HNSW neighbours per node. */
  connectivity: number;
  /** HNSW candidate list while searching; recall rises with it. */
  expansionSearch: number;
  /** Below this many points (or candidates after a filter) search is exact, not approximate. */
  exactLimit: number;
  /** Snapshot and start a new log once the log is this large. */
  compactAfterBytes: number;
  threads: number;
  /** BM25 parameters of lexical search, applied at query time. */
  bm25: Bm25Params;
}

/** A point in the log; `t`/`f`: its term ids (u32) and counts (f32), base64, on a lexical collection. */
type WalPoint = { id: string; v: string; p: Payload; t?: string; f?: string };
type WalRecord = { op: 'upsert'; points: WalPoint[] } | { op: 'delete'; ids: string[] };

export const encodeTerms = (terms: SparseVector) => ({ t: Buffer.from(terms.indices.buffer, terms.indices.byteOffset, terms.indices.byteLength).toString('base64'), f: Buffer.from(terms.values.buffer, terms.values.byteOffset, terms.values.byteLength).toString('base64') });

/** The term vector of a logged or snapshotted point (copied out of the decoded bytes, which may be unaligned). */
export function decodeTerms(point: { t?: string; f?: string }): SparseVector | undefined {
  if (point.t === undefined || point.f === undefined) return undefined;
  const t = Buffer.from(point.t, 'base64');
  const f = Buffer.from(point.f, 'base64');
  const indices = new Uint32Array(t.byteLength / 4);
  const values = new Float32Array(f.byteLength / 4);
  new Uint8Array(indices.buffer).set(t);
  new Uint8Array(values.buffer).set(f);
  return { indices, values };
}

/**
 * One collection of the embedded index: exact data in a PointStore, an HNSW graph (usearch)
 * over it for unfiltered and broad searches, and a write-ahead log + snapshots for
 * durability. Writes are serialised; each is fsynced before it is acknowledged.
 */
export class EmbeddedCollection {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    public meta: CollectionMeta,
    private readonly store: PointStore,
    private readonly lexical: LexicalStore,
    private readonly ann: InstanceType<typeof usearch.Index>,
    private wal: WriteAheadLog,
    private generation: number,
    private readonly tuning: TuningOptions,
  ) {}

  static async create(dir: string, spec: CollectionSpec, tuning: TuningOptions): Promise<EmbeddedCollection> {
    await writeMeta(dir, { dims: spec.dims, distance: spec.distance, payloadIndexes: spec.payloadIndexes ?? [], lexical: spec.lexical ?? false } satisfies CollectionMeta);
    return EmbeddedCollection.open(dir, tuning);
  }

  static async open(dir: string, tuning: TuningOptions): Promise<EmbeddedCollection> {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as CollectionMeta;
    const store = new PointStore(meta.dims, meta.payloadIndexes);
    const ann = new usearch.Index({
      dimensions: meta.dims,
      metric: meta.distance === 'euclid' ? usearch.MetricKind.L2sq : usearch.MetricKind.IP,
      quantization: usearch.ScalarKind.F32,
      connectivity: tuning.connectivity,
      expansion_add: 128,
      expansion_search: tuning.expansionSearch,
      multi: false,
    });
    const lexical = new LexicalStore();
    const generation = await readCurrent(dir);
    if (generation > 0) ann.load(await readSnapshot(dir, generation, store, (slot, point) => lexical.put(slot, decodeTerms(point))));
    const collection = new EmbeddedCollection(dir, meta, store, lexical, ann, undefined as never, generation, tuning);
    collection.wal = await WriteAheadLog.open(walPath(dir, generation), (record) => collection.apply(record as WalRecord));
    return collection;
  }

  get count(): number {
    return this.store.size;
  }

  /** Validates, logs durably, then applies. */
  upsert(points: VectorPoint[]): Promise<void> {
    for (const p of points) this.checkDims(p.vector, 'point vector');
    const record: WalRecord = {
      op: 'upsert',
      points: points.map((p) => ({
        id: p.id, v: Buffer.from(this.prepare(p.vector).buffer).toString('base64'), p: p.payload,
        ...(this.meta.lexical && p.terms && p.terms.indices.length > 0 ? encodeTerms(p.terms) : {}),
      })),
    };
    return this.write(record);
  }

  deleteByIds(ids: string[]): Promise<void> {
    return this.write({ op: 'delete', ids });
  }

  deleteByFilter(filter: Filter): Promise<void> {
    return this.serialised(async () => {
      const ids = this.store.matching(filter).map((slot) => this.store.ids[slot]!);
      if (ids.length > 0) await this.writeNow({ op: 'delete', ids });
    });
  }

  search(query: KnnQuery): Hit[] {
    this.checkDims(query.vector, 'query vector');
    const vector = this.prepare(query.vector);
    const limit = query.k + (query.offset ?? 0);
    let ranked: { slot: number; score: number }[];
    if (query.filter) {
      const candidates = this.store.matching(query.filter);
      ranked = candidates.length <= this.tuning.exactLimit ? this.exact(vector, limit, candidates) : this.approximate(vector, limit, new Set(candidates));
    } else {
      ranked = this.store.size <= this.tuning.exactLimit ? this.exact(vector, limit) : this.approximate(vector, limit);
    }
    const isDistance = this.meta.distance === 'euclid';
    return ranked
      .map(({ slot, score }) => ({ id: this.store.ids[slot]!, score: isDistance ? Math.sqrt(-score) : score, payload: this.store.payloads[slot]! }))
      .filter((hit) => query.scoreThreshold === undefined || (isDistance ? hit.score <= query.scoreThreshold : hit.score >= query.scoreThreshold))
      .slice(query.offset ?? 0, limit);
  }

  /** Turns the lexical index on (meta first, so a crash leaves it on); points written before carry no terms until rewritten. */
  async enableLexical(): Promise<void> {
    await this.serialised(async () => {
      if (this.meta.lexical) return;
      const meta = { ...this.meta, lexical: true };
      await writeMeta(this.dir, meta);
      this.meta = meta;
    });
  }

  searchLexical(query: LexicalQuery): Hit[] {
    if (!this.meta.lexical) throw new NoLexicalIndexError(basename(this.dir));
    const limit = query.k + (query.offset ?? 0);
    const allowed = query.filter ? new Uint8Array(this.store.highSlot) : undefined;
    if (query.filter) for (const slot of this.store.matching(query.filter)) allowed![slot] = 1;
    return this.lexical
      .search(query.terms, limit, this.tuning.bm25, allowed)
      .slice(query.offset ?? 0, limit)
      .map(({ slot, score }) => ({ id: this.store.ids[slot]!, score, payload: this.store.payloads[slot]! }));
  }

  countMatching(filter?: Filter): number {
    return filter ? this.store.matching(filter).length : this.store.size;
  }

  *points(options: { batchSize: number; withVectors: boolean; filter?: Filter }): Generator<StoredPoint[]> {
    const slots = options.filter ? this.store.matching(options.filter) : [...this.store.slotOf.values()].sort((a, b) => a - b);
    for (let i = 0; i < slots.length; i += options.batchSize) {
      yield slots.slice(i, i + options.batchSize).flatMap((slot) => {
        const id = this.store.ids[slot];
        if (id === undefined) return []; // deleted while iterating
        const point: StoredPoint = { id, payload: this.store.payloads[slot]! };
        if (options.withVectors) {
          point.vector = this.store.vector(slot).slice();
          const terms = this.lexical.termsAt(slot);
          if (terms) point.termIds = terms.indices.slice();
        }
        return [point];
      });
    }
  }

  /** Waits for pending writes and folds the log into a snapshot, so the next open need not replay it. */
  async close(): Promise<void> {
    await this.serialised(async () => {
      if (this.wal.bytes > 0) await this.compact();
    }).catch(() => undefined);
    await this.wal.close();
  }

  /** Lets go of a collection whose files are gone: waits for pending writes, closes the log, writes nothing. */
  async abandon(): Promise<void> {
    await this.serialised(async () => undefined).catch(() => undefined);
    await this.wal.close().catch(() => undefined);
  }

  private write(record: WalRecord): Promise<void> {
    return this.serialised(() => this.writeNow(record));
  }

  private async writeNow(record: WalRecord): Promise<void> {
    await this.wal.append(record);
    this.apply(record);
    if (this.wal.bytes > this.tuning.compactAfterBytes) await this.compact();
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private apply(record: WalRecord): void {
    if (record.op === 'delete') {
      for (const id of record.ids) {
        const slot = this.store.remove(id);
        if (slot !== undefined) {
          this.ann.remove(BigInt(slot));
          this.lexical.remove(slot);
        }
      }
      return;
    }
    const keys = new BigUint64Array(record.points.length);
    const matrix = new Float32Array(record.points.length * this.meta.dims);
    const isGraphChange = new Uint8Array(record.points.length);
    record.points.forEach((p, i) => {
      const bytes = Buffer.from(p.v, 'base64');
      const vector = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const old = this.store.slotOf.get(p.id);
      // A rewrite with the same vector (a payload change, a re-sync, the lexical backfill)
      // leaves the graph alone: each HNSW remove + re-add leaves a tombstone that lowers recall.
      const isSameVector = old !== undefined && this.ann.contains(BigInt(old)) && sameBytes(this.store.vector(old), vector);
      const slot = this.store.put(p.id, vector, p.p);
      this.lexical.put(slot, decodeTerms(p));
      if (isSameVector) return;
      if (this.ann.contains(BigInt(slot))) this.ann.remove(BigInt(slot));
      keys[i] = BigInt(slot);
      isGraphChange[i] = 1;
      matrix.set(vector, i * this.meta.dims);
    });
    // A batch may name the same id twice: the last one wins in the store, so add each slot once.
    const seen = new Map<bigint, number>();
    keys.forEach((key, i) => { if (isGraphChange[i]) seen.set(key, i); });
    const unique = [...seen.values()];
    const uniqueKeys = BigUint64Array.from(unique.map((i) => keys[i]!));
    const uniqueVectors = new Float32Array(unique.length * this.meta.dims);
    unique.forEach((i, j) => uniqueVectors.set(matrix.subarray(i * this.meta.dims, (i + 1) * this.meta.dims), j * this.meta.dims));
    if (uniqueKeys.length > 0) this.ann.add(uniqueKeys, uniqueVectors, this.tuning.threads);
  }

  private async compact(): Promise<void> {
    const next = this.generation + 1;
    await writeSnapshot(this.dir, next, this.store, (path) => this.ann.save(path), (slot) => {
      const terms = this.lexical.termsAt(slot);
      return terms && encodeTerms(terms);
    });
    await this.wal.close();
    this.generation = next;
    this.wal = await WriteAheadLog.open(walPath(this.dir, next), () => undefined);
  }

  /** Cosine is served as inner product over unit vectors, so vectors are normalised once on the way in. */
  private prepare(vector: Float32Array): Float32Array {
    const copy = Float32Array.from(vector);
    if (this.meta.distance !== 'cosine') return copy;
    let norm = 0;
    for (let i = 0; i < copy.length; i++) norm += copy[i]! * copy[i]!;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let i = 0; i < copy.length; i++) copy[i]! /= norm;
    return copy;
  }

  private checkDims(vector: Float32Array, what: string): void {
    if (vector.length !== this.meta.dims) {
      throw new InvalidInputError(`${what} has dimension ${vector.length}, the collection holds ${this.meta.dims}-dimensional vectors`, [
        { pointer: '/vector', detail: `expected ${this.meta.dims} dims, got ${vector.length}` },
      ]);
    }
  }

  /** Scores every candidate (or every point): higher is better; euclid scores are negated squared distances. */
  private exact(vector: Float32Array, limit: number, candidates?: number[]): { slot: number; score: number }[] {
    const top = new TopK(limit);
    const { dims, vectors } = this.store;
    const isL2 = this.meta.distance === 'euclid';
    const score = (slot: number) => {
      const base = slot * dims;
      let acc = 0;
      if (isL2) for (let d = 0; d < dims; d++) { const diff = vector[d]! - vectors[base + d]!; acc -= diff * diff; }
      else for (let d = 0; d < dims; d++) acc += vector[d]! * vectors[base + d]!;
      top.push(slot, acc);
    };
    if (candidates) for (const slot of candidates) score(slot);
    else for (const slot of this.store.slotOf.values()) score(slot);
    return top.sorted();
  }

  /**
   * HNSW search; with a filter, asks for enough neighbours that `limit` survive it
   * (oversampling by the filter's selectivity) and widens until they do.
   */
  private approximate(vector: Float32Array, limit: number, allowed?: Set<number>): { slot: number; score: number }[] {
    const total = this.store.size;
    const share = allowed ? Math.max(allowed.size / Math.max(total, 1), 1e-6) : 1;
    let want = Math.min(total, Math.ceil(limit / share) * (allowed ? 2 : 1) + (allowed ? 16 : 0));
    for (;;) {
      // Asking the graph for (nearly) every point is slower than scoring them, and a graph
      // walk may not reach them all: score exactly instead.
      if (want * 4 >= total) return this.exact(vector, limit, allowed ? [...allowed] : undefined);
      const found = this.ann.search(vector, Math.max(want, 1), 1);
      const out: { slot: number; score: number }[] = [];
      for (let i = 0; i < found.keys.length && out.length < limit; i++) {
        const slot = Number(found.keys[i]!);
        if (allowed && !allowed.has(slot)) continue;
        const d = found.distances[i]!;
        out.push({ slot, score: this.meta.distance === 'euclid' ? -d : 1 - d });
      }
      if (out.length >= limit) return out;
      want = Math.min(total, want * 2);
    }
  }
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
