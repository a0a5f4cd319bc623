import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import usearch from 'usearch';
import { InvalidInputError } from '../../../lib/errors.js';
import type { CollectionSpec, Distance, Filter, Hit, KnnQuery, Payload, PayloadIndexSpec, StoredPoint, VectorPoint } from '../../vector-index.js';
import { PointStore } from './point-store.js';
import { readCurrent, readSnapshot, walPath, writeMeta, writeSnapshot } from './snapshot-files.js';
import { TopK } from './top-k.js';
import { WriteAheadLog } from './write-ahead-log.js';

export interface CollectionMeta {
  dims: number;
  distance: Distance;
  payloadIndexes: PayloadIndexSpec[];
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
}

type WalRecord = { op: 'upsert'; points: { id: string; v: string; p: Payload }[] } | { op: 'delete'; ids: string[] };

/**
 * One collection of the embedded index: exact data in a PointStore, an HNSW graph (usearch)
 * over it for unfiltered and broad searches, and a write-ahead log + snapshots for
 * durability. Writes are serialised; each is fsynced before it is acknowledged.
 */
export class EmbeddedCollection {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly meta: CollectionMeta,
    private readonly store: PointStore,
    private readonly ann: InstanceType<typeof usearch.Index>,
    private wal: WriteAheadLog,
    private generation: number,
    private readonly tuning: TuningOptions,
  ) {}

  static async create(dir: string, spec: CollectionSpec, tuning: TuningOptions): Promise<EmbeddedCollection> {
    await writeMeta(dir, { dims: spec.dims, distance: spec.distance, payloadIndexes: spec.payloadIndexes ?? [] } satisfies CollectionMeta);
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
    const generation = await readCurrent(dir);
    if (generation > 0) ann.load(await readSnapshot(dir, generation, store));
    const collection = new EmbeddedCollection(dir, meta, store, ann, undefined as never, generation, tuning);
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
      points: points.map((p) => ({ id: p.id, v: Buffer.from(this.prepare(p.vector).buffer).toString('base64'), p: p.payload })),
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
        if (options.withVectors) point.vector = this.store.vector(slot).slice();
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
        if (slot !== undefined) this.ann.remove(BigInt(slot));
      }
      return;
    }
    const keys = new BigUint64Array(record.points.length);
    const matrix = new Float32Array(record.points.length * this.meta.dims);
    record.points.forEach((p, i) => {
      const bytes = Buffer.from(p.v, 'base64');
      const vector = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const slot = this.store.put(p.id, vector, p.p);
      if (this.ann.contains(BigInt(slot))) this.ann.remove(BigInt(slot));
      keys[i] = BigInt(slot);
      matrix.set(vector, i * this.meta.dims);
    });
    // A batch may name the same id twice: the last one wins in the store, so add each slot once.
    const seen = new Map<bigint, number>();
    keys.forEach((key, i) => seen.set(key, i));
    const unique = [...seen.values()];
    const uniqueKeys = BigUint64Array.from(unique.map((i) => keys[i]!));
    const uniqueVectors = new Float32Array(unique.length * this.meta.dims);
    unique.forEach((i, j) => uniqueVectors.set(matrix.subarray(i * this.meta.dims, (i + 1) * this.meta.dims), j * this.meta.dims));
    if (uniqueKeys.length > 0) this.ann.add(uniqueKeys, uniqueVectors, this.tuning.threads);
  }

  private async compact(): Promise<void> {
    const next = this.generation + 1;
    await writeSnapshot(this.dir, next, this.store, (path) => this.ann.save(path));
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
