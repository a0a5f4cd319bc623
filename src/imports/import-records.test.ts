import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { ensureCollectionRecord, type CollectionRecord } from '../catalog/collections.js';
import { documentChunks, findDocument } from '../catalog/documents.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import type { Embedder } from '../embedding/embedder.js';
import type { ParsedRecord } from '../ingest/parsers/parsed-record.js';
import { importRecords, type ImportProgress } from './import-records.js';

const doc = (record: number, id: string, body: string): ParsedRecord => ({ record, doc: { externalId: id, title: null, body, metadata: {}, labels: [] } });

/**
 * The hash embedder (a double at the port), noting when each embedChunks call starts. Call
 * `holdCall` does not finish until the next call has started: with the pipeline that happens
 * (the next batch is prepared while this one is in flight); without it, only the guard frees it.
 */
function recordingEmbedder(events: string[], holdCall: number): Embedder {
  const inner = new HashEmbedder(32, 64);
  let calls = 0;
  let nextStarted: () => void = () => {};
  const started = new Promise<void>((r) => { nextStarted = r; });
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'embedChunks') {
        return async (...args: Parameters<Embedder['embedChunks']>) => {
          calls += 1;
          const call = calls;
          events.push(`embed ${call}`);
          if (call === holdCall + 1) nextStarted();
          if (call === holdCall) {
            // Guards a hang only: a pipeline that never overlaps fails below, not by timing out.
            let guard: NodeJS.Timeout | undefined;
            await Promise.race([started, new Promise<void>((r) => { guard = setTimeout(() => { events.push('no overlap'); r(); }, 120_000); })]);
            clearTimeout(guard);
          }
          return target.embedChunks(args[0]);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

describe.each(DATABASE_BACKENDS)('importRecords pipeline on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
  });
  afterAll(async () => t.cleanup());

  const collectionFor = (name: string, embedder: Embedder): Promise<CollectionRecord> => ensureCollectionRecord(t.handle.db, {
    name, modelId: embedder.info.modelId, modelRevision: embedder.info.revision ?? null, pooling: embedder.info.pooling, normalize: embedder.info.normalize,
    maxTokens: embedder.info.maxTokens, dims: embedder.info.dims, distance: 'cosine', queryPrefix: '', documentPrefix: '', chunkOverlap: 0,
  });

  it('embeds batch n+1 while batch n is in flight, yet an id repeated across batches ends with its last text', { timeout: 300_000 }, async () => {
    const events: string[] = [];
    const embedder = recordingEmbedder(events, 3);
    const collection = await collectionFor(`pipeline-${backend}`, embedder);
    // Batches of 2: a is in batches 1, 2 and 3 (adjacent repeats), b in 1 and 3, c..f once.
    const records = [
      doc(1, 'a', 'alpha one'), doc(2, 'b', 'beta one'),
      doc(3, 'a', 'alpha two'), doc(4, 'c', 'gamma'),
      doc(5, 'a', 'alpha three'), doc(6, 'b', 'beta two'),
      doc(7, 'd', 'delta'), doc(8, 'e', 'epsilon'),
      doc(9, 'f', 'phi'),
    ];
    async function* source() { yield* records; }
    const cursors: number[] = [];
    const progress = await importRecords({
      db: t.handle.db, embedder, collection, records: source(), batchSize: 2,
      onBatch: async (p: ImportProgress) => { cursors.push(p.cursor); events.push(`commit ${p.cursor}`); },
    });
    expect(progress).toMatchObject({ done: 9, failed: 0, created: 6, updated: 3, cursor: 9 });
    expect(cursors).toEqual([2, 4, 6, 8, 9]); // committed in record order
    for (const [id, body] of [['a', 'alpha three'], ['b', 'beta two'], ['c', 'gamma'], ['f', 'phi']] as const) {
      const stored = await findDocument(t.handle.db, collection, id);
      expect(stored?.body, id).toBe(body);
      const [chunk] = await documentChunks(t.handle.db, stored!.id);
      const [expected] = await embedder.embed([body]);
      expect(Array.from(chunk!.vector), id).toEqual(Array.from(expected!.vector));
    }
    // Batch 4 (d, e) shares no id with batch 3, so it was embedded while batch 3 was in flight;
    // batches 2 and 3 repeat a, so each waited for the one before it to commit.
    expect(events).not.toContain('no overlap');
    expect(events.indexOf('embed 4')).toBeLessThan(events.indexOf('commit 6'));
    expect(events.indexOf('commit 2')).toBeLessThan(events.indexOf('embed 2'));
    expect(events.indexOf('commit 4')).toBeLessThan(events.indexOf('embed 3'));
  });

  it('a failing batch still commits the batches before it, in order, and reports its records', async () => {
    const embedder = new HashEmbedder(32, 64);
    const collection = await collectionFor(`pipeline-fail-${backend}`, embedder);
    async function* source() {
      yield doc(1, 'x', 'one'); yield doc(2, 'y', 'two');
      yield doc(3, 'z', 'three');
      throw new Error('disk read failed');
    }
    const cursors: number[] = [];
    await expect(importRecords({ db: t.handle.db, embedder, collection, records: source(), batchSize: 2, onBatch: async (p) => { cursors.push(p.cursor); } }))
      .rejects.toThrow('disk read failed');
    expect(cursors).toEqual([2, 3]);
    expect((await findDocument(t.handle.db, collection, 'z'))?.body).toBe('three');
  });
});
