import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, NotFoundError } from '../lib/errors.js';
import { matchesFilter } from './filter-match.js';
import { pointId } from './point-id.js';
import type { Filter, Payload, VectorIndex, VectorPoint } from './vector-index.js';

export interface ContractSubject {
  index: VectorIndex;
  /** Closes the index and opens it again over the same storage, or undefined if it cannot. */
  reopen?: () => Promise<VectorIndex>;
  /**
   * Removes a collection's storage behind the adapter's back, the way a lost volume or another
   * tool would (Qdrant: a raw DELETE; embedded: its directory removed), without telling `index`.
   */
  loseCollection: (name: string) => Promise<void>;
  cleanup: () => Promise<void>;
}

const DIMS = 8;

/** Deterministic pseudo-random unit-ish vectors. */
function vectorFor(seed: number, dims = DIMS): Float32Array {
  const v = new Float32Array(dims);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < dims; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    v[i] = ((s >>> 0) / 4294967296) - 0.5;
  }
  return v;
}

const JOURNALS = ['Nature', 'Cell', 'Lancet', 'BMJ'];

function makePoints(collection: string, n: number, docPrefix = 'doc'): VectorPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    id: pointId(collection, `${docPrefix}-${Math.floor(i / 2)}`, i % 2),
    vector: vectorFor(i + 1),
    payload: {
      document_id: `${docPrefix}-${Math.floor(i / 2)}`,
      chunk_index: i % 2,
      labels: i % 3 === 0 ? ['cancer', 'oncology'] : ['cardiology'],
      metadata: { journal: JOURNALS[i % JOURNALS.length]!, year: 2000 + (i % 25), open_access: i % 2 === 0 },
    } satisfies Payload,
  }));
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i]! * b[i]!; na += a[i]! * a[i]!; nb += b[i]! * b[i]!; }
  return dot / Math.sqrt(na * nb);
}

/** Exact answer: ids of the k best points by cosine that pass the filter. */
function bruteForce(points: VectorPoint[], query: Float32Array, k: number, filter?: Filter): string[] {
  return points
    .filter((p) => matchesFilter(p.payload, filter))
    .map((p) => ({ id: p.id, score: cosine(p.vector, query) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map((h) => h.id);
}

/**
 * The conformance suite every VectorIndex adapter runs. Collections get unique names, so it
 * can run against a shared Qdrant.
 */
export function runVectorIndexContract(adapter: string, make: () => Promise<ContractSubject>): void {
  describe(`VectorIndex contract: ${adapter}`, () => {
    let subject: ContractSubject;
    let index: VectorIndex;
    const names: string[] = [];
    const fresh = async (dims = DIMS) => {
      const name = `contract_${randomUUID().slice(0, 8)}`;
      names.push(name);
      await index.ensureCollection({ name, dims, distance: 'cosine', payloadIndexes: [{ field: 'document_id', type: 'keyword' }, { field: 'metadata.year', type: 'integer' }, { field: 'labels', type: 'keyword' }] });
      return name;
    };

    beforeAll(async () => {
      subject = await make();
      index = subject.index;
    });
    afterAll(async () => {
      for (const name of names) await index.dropCollection(name).catch(() => undefined);
      await index.close();
      await subject.cleanup();
    });

    it('creates a collection, accepts the same spec again, and names dims and distance on a mismatch', async () => {
      const name = await fresh();
      expect(await index.collectionInfo(name)).toEqual({ name, dims: DIMS, distance: 'cosine', points: 0, lexical: false });
      await index.ensureCollection({ name, dims: DIMS, distance: 'cosine' });
      const err = await index.ensureCollection({ name, dims: 16, distance: 'cosine' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as ConflictError).detail).toMatch(/8/);
      expect((err as ConflictError).detail).toMatch(/16/);
      expect(await index.collectionInfo(`absent_${randomUUID().slice(0, 8)}`)).toBeUndefined();
    });

    it('answers an empty collection with nothing', async () => {
      const name = await fresh();
      expect(await index.search(name, { vector: vectorFor(1), k: 5 })).toEqual([]);
      expect(await index.count(name)).toBe(0);
      const batches = [];
      for await (const batch of index.iterate(name)) batches.push(batch);
      expect(batches.flat()).toEqual([]);
    });

    it('finds the nearest points, best first, with cosine scores; k beyond the matches returns them all', async () => {
      const name = await fresh();
      const points = makePoints(name, 40);
      await index.upsert(name, points);
      const query = vectorFor(7);
      const hits = await index.search(name, { vector: query, k: 10 });
      expect(hits.map((h) => h.id)).toEqual(bruteForce(points, query, 10));
      const byId = new Map(points.map((p) => [p.id, p]));
      for (const hit of hits) {
        expect(hit.score).toBeCloseTo(cosine(byId.get(hit.id)!.vector, query), 4);
        expect(hit.payload).toEqual(byId.get(hit.id)!.payload);
      }
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
      expect(await index.search(name, { vector: query, k: 1000 })).toHaveLength(40);
    });

    it('overwrites by id idempotently', async () => {
      const name = await fresh();
      const points = makePoints(name, 10);
      await index.upsert(name, points);
      await index.upsert(name, points);
      expect(await index.count(name)).toBe(10);
      const moved = { ...points[3]!, vector: vectorFor(999), payload: { ...points[3]!.payload, document_id: 'moved' } };
      await index.upsert(name, [moved]);
      await index.upsert(name, [moved]);
      expect(await index.count(name)).toBe(10);
      const [top] = await index.search(name, { vector: vectorFor(999), k: 1 });
      expect(top).toMatchObject({ id: moved.id, payload: { document_id: 'moved' } });
      expect(top!.score).toBeCloseTo(1, 4);
    });

    it('deletes by id and by filter idempotently; absent ids are fine', async () => {
      const name = await fresh();
      const points = makePoints(name, 20);
      await index.upsert(name, points);
      await index.deleteByIds(name, [points[0]!.id, points[1]!.id, pointId(name, 'never', 0)]);
      await index.deleteByIds(name, [points[0]!.id]);
      expect(await index.count(name)).toBe(18);
      await index.deleteByFilter(name, { must: [{ key: 'document_id', match: 'doc-5' }] });
      await index.deleteByFilter(name, { must: [{ key: 'document_id', match: 'doc-5' }] });
      expect(await index.count(name)).toBe(16);
      const hits = await index.search(name, { vector: points[10]!.vector, k: 20 });
      expect(hits.map((h) => h.id)).not.toContain(points[10]!.id);
      expect(hits.map((h) => h.id)).not.toContain(points[0]!.id);
    });

    it('filters exactly: equality, any-of, numeric range, array fields, nested keys, combined', async () => {
      const name = await fresh();
      const points = makePoints(name, 60);
      await index.upsert(name, points);
      const query = vectorFor(3);
      const filters: Filter[] = [
        { must: [{ key: 'metadata.journal', match: 'Lancet' }] },
        { must: [{ key: 'metadata.journal', any: ['Cell', 'BMJ'] }] },
        { must: [{ key: 'metadata.year', range: { gte: 2005, lte: 2010 } }] },
        { must: [{ key: 'metadata.year', range: { gt: 2020 } }] },
        { must: [{ key: 'labels', match: 'cancer' }] },
        { must: [{ key: 'labels', any: ['oncology', 'neurology'] }, { key: 'metadata.open_access', match: true }] },
        { must: [{ key: 'metadata.journal', match: 'Nature' }, { key: 'metadata.year', range: { lt: 2003 } }] },
        { must: [{ key: 'metadata.journal', match: 'Science' }] },
      ];
      for (const filter of filters) {
        const expected = bruteForce(points, query, 1000, filter);
        const hits = await index.search(name, { vector: query, k: 1000, filter });
        expect(hits.map((h) => h.id), JSON.stringify(filter)).toEqual(expected);
        expect(await index.count(name, filter), JSON.stringify(filter)).toBe(expected.length);
        const top3 = await index.search(name, { vector: query, k: 3, filter });
        expect(top3.map((h) => h.id)).toEqual(expected.slice(0, 3));
      }
    });

    it('pages with offset and cuts with a score threshold', async () => {
      const name = await fresh();
      const points = makePoints(name, 30);
      await index.upsert(name, points);
      const query = vectorFor(11);
      const all = await index.search(name, { vector: query, k: 30 });
      const page = await index.search(name, { vector: query, k: 5, offset: 5 });
      expect(page.map((h) => h.id)).toEqual(all.slice(5, 10).map((h) => h.id));
      // The threshold is inclusive: a hit scoring exactly the threshold stays (issue 11: Qdrant
      // itself keeps only scores above it, and dropped this one).
      const threshold = all[7]!.score;
      const atLeast = all.filter((h) => h.score >= threshold).map((h) => h.id);
      const cut = await index.search(name, { vector: query, k: 30, scoreThreshold: threshold });
      expect(cut.map((h) => h.id)).toEqual(atLeast);
      expect(cut.map((h) => h.id)).toContain(all[7]!.id);
      expect(cut.length).toBeLessThan(30);
      // Paging and the threshold together: the page past the boundary is the boundary's tail.
      const tail = await index.search(name, { vector: query, k: 5, offset: 5, scoreThreshold: threshold });
      expect(tail.map((h) => h.id)).toEqual(atLeast.slice(5, 10));
      const beyond = await index.search(name, { vector: query, k: 5, offset: atLeast.length, scoreThreshold: threshold });
      expect(beyond).toEqual([]);
    });

    it('keeps a hit exactly at the threshold for distances too (euclid: at most this far)', async () => {
      const name = `contract_${randomUUID().slice(0, 8)}`;
      names.push(name);
      await index.ensureCollection({ name, dims: DIMS, distance: 'euclid' });
      const points = makePoints(name, 20);
      await index.upsert(name, points);
      const query = vectorFor(4);
      const all = await index.search(name, { vector: query, k: 20 });
      for (let i = 1; i < all.length; i++) expect(all[i]!.score).toBeGreaterThanOrEqual(all[i - 1]!.score);
      const threshold = all[5]!.score;
      const cut = await index.search(name, { vector: query, k: 20, scoreThreshold: threshold });
      expect(cut.map((h) => h.id)).toEqual(all.filter((h) => h.score <= threshold).map((h) => h.id));
      expect(cut.map((h) => h.id)).toContain(all[5]!.id);
    });

    it('reports a collection lost behind its back as missing, never as no hits, and serves it again once re-created', async () => {
      const name = await fresh();
      const points = makePoints(name, 10);
      await index.upsert(name, points);
      // Warm every cache an adapter keeps about the collection.
      expect(await index.search(name, { vector: points[0]!.vector, k: 3 })).toHaveLength(3);
      expect(await index.count(name)).toBe(10);
      await subject.loseCollection(name);
      await expect(index.upsert(name, points.slice(0, 2))).rejects.toBeInstanceOf(NotFoundError);
      await expect(index.search(name, { vector: points[0]!.vector, k: 3 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(index.count(name)).rejects.toBeInstanceOf(NotFoundError);
      expect(await index.collectionInfo(name)).toBeUndefined();
      // Re-created with another dimension: nothing the adapter remembered of the old one may judge it.
      await index.ensureCollection({ name, dims: 2 * DIMS, distance: 'cosine' });
      const wide = points.map((p, i) => ({ ...p, vector: vectorFor(i + 100, 2 * DIMS) }));
      await index.upsert(name, wide);
      await expect(index.upsert(name, points.slice(0, 1))).rejects.toBeInstanceOf(InvalidInputError);
      expect(await index.count(name)).toBe(10);
      const [top] = await index.search(name, { vector: wide[3]!.vector, k: 1 });
      expect(top!.id).toBe(wide[3]!.id);
      expect(top!.score).toBeCloseTo(1, 4);
    });

    it('rejects a wrong dimension with a clear error, and a missing collection with not-found', async () => {
      const name = await fresh();
      const bad = { id: pointId(name, 'x', 0), vector: new Float32Array(5), payload: {} };
      const err = await index.upsert(name, [bad]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).detail).toMatch(/dimension|dims/i);
      expect((err as InvalidInputError).detail).toMatch(/8/);
      await expect(index.search(name, { vector: new Float32Array(3), k: 1 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(index.upsert(`absent_${randomUUID().slice(0, 8)}`, makePoints(name, 1))).rejects.toBeInstanceOf(NotFoundError);
    });

    it('takes concurrent upserts without losing or duplicating points', async () => {
      const name = await fresh();
      const batches = Array.from({ length: 8 }, (_, b) => makePoints(name, 25, `batch${b}`));
      await Promise.all(batches.map((batch) => index.upsert(name, batch)));
      await Promise.all(batches.map((batch) => index.upsert(name, batch)));
      expect(await index.count(name)).toBe(200);
      const seen = new Set<string>();
      for await (const batch of index.iterate(name, { batchSize: 64, withVectors: true })) {
        expect(batch.length).toBeLessThanOrEqual(64);
        for (const p of batch) {
          seen.add(p.id);
          expect(p.vector).toHaveLength(DIMS);
        }
      }
      expect(seen.size).toBe(200);
    });

    it('moves an alias atomically between collections', async () => {
      const a = await fresh();
      const b = await fresh();
      await index.upsert(a, makePoints(a, 4, 'a'));
      await index.upsert(b, makePoints(b, 6, 'b'));
      const alias = `alias_${randomUUID().slice(0, 8)}`;
      names.push(alias);
      await index.setAlias(alias, a);
      expect(await index.count(alias)).toBe(4);
      await index.setAlias(alias, b);
      expect(await index.count(alias)).toBe(6);
      expect((await index.search(alias, { vector: vectorFor(1), k: 10 })).length).toBe(6);
    });

    it('drops a collection; dropping again is fine', async () => {
      const name = await fresh();
      await index.upsert(name, makePoints(name, 3));
      await index.dropCollection(name);
      expect(await index.collectionInfo(name)).toBeUndefined();
      await index.dropCollection(name);
    });

    it('keeps everything across a reopen', async () => {
      if (!subject.reopen) return;
      const name = await fresh();
      const points = makePoints(name, 50);
      await index.upsert(name, points);
      await index.deleteByIds(name, [points[0]!.id]);
      await index.upsert(name, [{ ...points[1]!, payload: { ...points[1]!.payload, document_id: 'renamed' } }]);
      index = await subject.reopen();
      subject.index = index;
      expect(await index.count(name)).toBe(49);
      const query = vectorFor(5);
      expect((await index.search(name, { vector: query, k: 5 })).map((h) => h.id)).toEqual(bruteForce(points.slice(1), query, 5));
      expect(await index.count(name, { must: [{ key: 'document_id', match: 'renamed' }] })).toBe(1);
    });
  });
}
