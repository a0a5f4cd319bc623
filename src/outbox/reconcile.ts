import { listCollections, type CollectionRecord } from '../catalog/collections.js';
import { collectionAtVersion } from '../catalog/collection-versions.js';
import { chunksByDocument, documentPage } from '../catalog/documents.js';
import { NotFoundError } from '../lib/errors.js';
import type { Database } from '../db/client.js';
import { outbox } from '../db/schema.js';
import { stableJson } from '../catalog/hashes.js';
import type { VectorIndex } from '../vectors/vector-index.js';
import { indexSpecFor, pointsFor } from './index-points.js';

export interface ReconcileReport {
  collection: string;
  /** The collection version compared (its chunks against its index collection). */
  version: number;
  indexName: string;
  catalogPoints: number;
  indexPoints: number;
  /** In the catalog, absent from the index. */
  missing: number;
  /** In the index, absent from the catalog. */
  orphans: number;
  /** In both, with a different vector or payload. */
  stale: number;
  /** Documents queued for re-sync and orphans deleted (when repairing). */
  repairedDocuments: number;
  deletedOrphans: number;
  /** The index collection keeps a lexical (BM25) index (after repair, when it could be given one). */
  lexical: boolean;
}

interface Expected {
  documentId: string;
  vector: Float32Array;
  /** stableJson of the payload. */
  payload: string;
  termIds: Uint32Array;
}

/**
 * Compares every collection's catalog chunks with its index points. With `repair`, queues a
 * sync for each document with missing or stale points (through the outbox, so the worker's
 * idempotent path does the work) and deletes orphan points.
 */
export async function reconcile(opts: { db: Database; index: VectorIndex; repair: boolean; collection?: string; recreateForLexical?: boolean; version?: number }): Promise<ReconcileReport[]> {
  const reports: ReconcileReport[] = [];
  for (const current of await listCollections(opts.db)) {
    if (opts.collection && current.name !== opts.collection) continue;
    // Another version (building, or kept for switching back) is judged against its own chunks and index collection.
    const collection = opts.version === undefined ? current : await collectionAtVersion(opts.db, current, opts.version);
    if (!collection) throw new NotFoundError(`version ${opts.version} of collection`, current.name);
    if (opts.repair) await giveLexicalIndex(opts.index, collection, opts.recreateForLexical === true);
    reports.push(await reconcileCollection(opts.db, opts.index, collection, opts.repair));
  }
  return reports;
}

/**
 * An index collection made before issue 15 gets its lexical index: in place where the index
 * can (embedded), else, with `recreate`, by dropping and re-creating it (Qdrant cannot add a
 * sparse vector to a collection; searches answer 503 until the re-sync has refilled it). The
 * points' terms are then missing or stale, and the repair re-syncs them from the catalog.
 */
async function giveLexicalIndex(index: VectorIndex, collection: CollectionRecord, recreate: boolean): Promise<void> {
  const info = await index.collectionInfo(collection.indexName);
  if (!info || info.lexical) return;
  await index.ensureCollection(indexSpecFor(collection));
  if ((await index.collectionInfo(collection.indexName))?.lexical || !recreate) return;
  await index.dropCollection(collection.indexName);
  await index.ensureCollection(indexSpecFor(collection));
}

async function reconcileCollection(db: Database, index: VectorIndex, collection: CollectionRecord, repair: boolean): Promise<ReconcileReport> {
  const expected = new Map<string, Expected>();
  for (let after = 0; ; ) {
    const page = await documentPage(db, collection, after, 500);
    if (page.length === 0) break;
    const chunksOf = await chunksByDocument(db, page.map((d) => d.id), collection.version);
    for (const doc of page) {
      for (const point of pointsFor(collection, doc, chunksOf.get(doc.id) ?? [])) {
        expected.set(point.id, { documentId: doc.externalId, vector: point.vector, payload: stableJson(point.payload), termIds: point.terms?.indices ?? new Uint32Array() });
      }
    }
    after = page[page.length - 1]!.id;
  }
  const report: ReconcileReport = {
    collection: collection.name, version: collection.version, indexName: collection.indexName, catalogPoints: expected.size, indexPoints: 0,
    missing: 0, orphans: 0, stale: 0, repairedDocuments: 0, deletedOrphans: 0, lexical: false,
  };
  const resync = new Set<string>();
  const orphanIds: string[] = [];
  const seen = new Set<string>();
  const info = await index.collectionInfo(collection.indexName);
  report.lexical = info?.lexical ?? false;
  if (info) {
    for await (const batch of index.iterate(collection.indexName, { withVectors: true, batchSize: 512 })) {
      for (const point of batch) {
        report.indexPoints += 1;
        seen.add(point.id);
        const want = expected.get(point.id);
        if (!want) {
          report.orphans += 1;
          orphanIds.push(point.id);
        } else if (!agrees(want, point.vector, point.payload) || (report.lexical && !sameTerms(want.termIds, point.termIds))) {
          report.stale += 1;
          resync.add(want.documentId);
        }
      }
    }
  }
  for (const [id, want] of expected) {
    if (!seen.has(id)) {
      report.missing += 1;
      resync.add(want.documentId);
    }
  }
  if (repair) {
    if (resync.size > 0) {
      if (!(await index.collectionInfo(collection.indexName))) await index.ensureCollection(indexSpecFor(collection));
      await db.insert(outbox).values([...resync].map((externalId) => ({ op: 'sync', indexName: collection.indexName, collectionId: collection.id, externalId })));
    }
    if (orphanIds.length > 0) await index.deleteByIds(collection.indexName, orphanIds);
    report.repairedDocuments = resync.size;
    report.deletedOrphans = orphanIds.length;
  }
  return report;
}

function sameTerms(want: Uint32Array, got: Uint32Array | undefined): boolean {
  const have = got ?? new Uint32Array();
  return want.length === have.length && want.every((id, i) => id === have[i]);
}

/** Cosine indexes may normalise vectors on the way in; compare payloads exactly and vectors by direction. */
function agrees(want: Expected, vector: Float32Array | undefined, payload: unknown): boolean {
  if (want.payload !== stableJson(payload)) return false;
  if (!vector) return true;
  if (want.vector.length !== vector.length) return false;
  let dot = 0, a = 0, b = 0;
  for (let i = 0; i < vector.length; i++) { dot += want.vector[i]! * vector[i]!; a += want.vector[i]! * want.vector[i]!; b += vector[i]! * vector[i]!; }
  return a === 0 || b === 0 ? a === b : dot / Math.sqrt(a * b) > 1 - 1e-5;
}
