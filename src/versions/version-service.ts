import { and, eq, inArray } from 'drizzle-orm';
import { countStaleDocuments, findVersion, listVersions, nextVersionNumber, type VersionRecord } from '../catalog/collection-versions.js';
import { getCollection, indexNameFor, type CollectionRecord } from '../catalog/collections.js';
import { countDocuments } from '../catalog/documents.js';
import type { BuildingView } from '../collections/collection-view.js';
import type { Database } from '../db/client.js';
import { chunks, collections, collectionVersions, documents, jobs, outbox } from '../db/schema.js';
import { bindingDifferences, bindingOf, type ModelResolver, type ModelSettings } from '../embedding/embedder-registry.js';
import { markCancelled } from '../jobs/job-store.js';
import type { JobRow } from '../jobs/job-kind.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../lib/errors.js';
import { freshDocumentCount, REINDEX_KIND, type ReindexState } from './reindex-kind.js';
import { switchTo } from './version-switch.js';

export interface VersionDeps {
  db: Database;
  embedders: ModelResolver;
}

export interface NewVersionRequest extends ModelSettings {
  /** Tokens shared by consecutive chunks; default: the collection's. */
  chunkOverlap?: number;
}

/**
 * Starts a re-index of the collection into a new version bound to the model `request`
 * describes (unset: the served model's settings): loads the model here first, so a model this
 * process cannot load is refused (409, naming why) before any job exists. The version is `building` until
 * its job has embedded every document; then the job switches the collection to it.
 * Throws NotFoundError, InvalidInputError, ConflictError (a version is already building; the
 * same binding as the current version).
 */
export async function createVersion(deps: VersionDeps, name: string, request: NewVersionRequest): Promise<{ version: VersionRecord; job: JobRow }> {
  const collection = await getCollection(deps.db, name);
  const { chunkOverlap: askedOverlap, ...settings } = request;
  const embedder = await deps.embedders.resolve(settings);
  const binding = bindingOf(embedder.info);
  const chunkOverlap = askedOverlap ?? Math.min(collection.chunkOverlap, Math.floor((binding.maxTokens - 2) / 2));
  const room = Math.floor((binding.maxTokens - 2) / 2);
  if (chunkOverlap > room) throw new InvalidInputError(`chunk_overlap ${chunkOverlap} is too large for ${binding.maxTokens}-token chunks (at most ${room})`, [{ pointer: '/chunk_overlap', detail: `at most ${room}` }]);
  return deps.db.transaction(async (tx) => {
    const [locked] = await tx.select().from(collections).where(eq(collections.id, collection.id)).for('update');
    if (!locked) throw new NotFoundError('collection', name);
    const building = (await listVersions(tx, locked.id)).find((v) => v.status === 'building');
    if (building) throw new ConflictError(`collection ${name} is already being re-indexed into version ${building.version} (job ${building.jobId}): wait for it, or drop that version first`);
    if (bindingDifferences(locked, binding).length === 0 && locked.chunkOverlap === chunkOverlap) {
      throw new ConflictError(`collection ${name} is already bound to this model configuration (version ${locked.version})`);
    }
    const number = await nextVersionNumber(tx, locked.id);
    const state: ReindexState = { version: number, mode: 'reindex' };
    const [job] = await tx.insert(jobs).values({ collectionId: locked.id, kind: REINDEX_KIND, status: 'queued', state: { ...state } }).returning();
    const [version] = await tx
      .insert(collectionVersions)
      .values({ collectionId: locked.id, version: number, ...binding, distance: locked.distance, chunkOverlap, indexName: indexNameFor(locked.name, number), status: 'building', jobId: job!.id })
      .returning();
    return { version: version!, job: job! };
  });
}

export interface VersionSummary {
  record: VersionRecord;
  isCurrent: boolean;
  /** A building version's progress: documents embedded at this version of all the collection's. */
  progress?: { embedded: number; documents: number; job: Pick<JobRow, 'id' | 'status' | 'done' | 'failed' | 'total'> | null };
}

/** The collection's versions (dropped ones left out), with a building one's progress. Throws NotFoundError. */
export async function listCollectionVersions(db: Database, name: string): Promise<{ collection: CollectionRecord; versions: VersionSummary[] }> {
  const collection = await getCollection(db, name);
  const versions = await Promise.all((await listVersions(db, collection.id)).map((record) => summarize(db, collection, record)));
  return { collection, versions };
}

async function summarize(db: Database, collection: CollectionRecord, record: VersionRecord): Promise<VersionSummary> {
  const summary: VersionSummary = { record, isCurrent: record.version === collection.version };
  if (record.status !== 'building') return summary;
  const [job] = record.jobId ? await db.select({ id: jobs.id, status: jobs.status, done: jobs.done, failed: jobs.failed, total: jobs.total }).from(jobs).where(eq(jobs.id, record.jobId)) : [];
  summary.progress = { embedded: await freshDocumentCount(db, collection.id, record.version), documents: await countDocuments(db, collection), job: job ?? null };
  return summary;
}

/** The version building now, with its progress, for the collection view and /info; undefined when none. */
export async function buildingVersion(db: Database, collection: CollectionRecord): Promise<VersionSummary | undefined> {
  const [record] = await db.select().from(collectionVersions).where(and(eq(collectionVersions.collectionId, collection.id), eq(collectionVersions.status, 'building'))).limit(1);
  return record ? summarize(db, collection, record) : undefined;
}

/** The collection view's `building` field: null when no version is building. */
export async function buildingView(db: Database, collection: CollectionRecord): Promise<BuildingView | null> {
  const b = await buildingVersion(db, collection);
  if (!b) return null;
  return { version: b.record.version, model: b.record.modelId, job_id: b.record.jobId, embedded: b.progress?.embedded ?? 0, documents: b.progress?.documents ?? 0 };
}

/**
 * Switches the collection to a ready version at once (switching back is instant: its chunks
 * and index collection were kept). Documents written since that version was current are stale
 * there: a catch-up job re-embeds them (until then they are absent from its searches and
 * exports). Throws NotFoundError, ConflictError (not ready).
 */
export async function switchVersion(db: Database, name: string, number: number): Promise<{ collection: CollectionRecord; stale: number; job: JobRow | null }> {
  const collection = await getCollection(db, name);
  const version = await findVersion(db, collection.id, number);
  if (!version || version.status === 'dropped') throw new NotFoundError(`version ${number} of collection`, name);
  if (version.status !== 'ready') throw new ConflictError(`version ${number} of collection ${name} is ${version.status}; only a ready version can be switched to`);
  if (collection.version === number) return { collection, stale: 0, job: null };
  const switched = await switchTo(db, { collectionId: collection.id, version: number, requireFresh: false });
  if (switched === 'gone' || switched === 'stale') throw new NotFoundError(`version ${number} of collection`, name);
  const stale = await countStaleDocuments(db, collection.id, number);
  if (stale === 0) return { collection: switched, stale, job: null };
  const state: ReindexState = { version: number, mode: 'catch-up' };
  const [job] = await db.insert(jobs).values({ collectionId: collection.id, kind: REINDEX_KIND, status: 'queued', state: { ...state } }).returning();
  return { collection: switched, stale, job: job! };
}

/**
 * Drops a version that is not the current one: cancels its re-index if it is building, deletes
 * its chunks and queues the removal of its index collection. Throws NotFoundError, ConflictError.
 */
export async function dropVersion(db: Database, name: string, number: number): Promise<void> {
  await db.transaction(async (tx) => {
    const [locked] = await tx.select().from(collections).where(eq(collections.name, name)).for('update');
    if (!locked) throw new NotFoundError('collection', name);
    const version = await findVersion(tx, locked.id, number);
    if (!version || version.status === 'dropped') throw new NotFoundError(`version ${number} of collection`, name);
    if (locked.version === number) throw new ConflictError(`version ${number} is collection ${name}'s current version: switch to another one first`);
    // In this transaction: a batch commit of the job (which locks the job row) either ran
    // before, and its chunks are deleted below, or sees the job cancelled and writes nothing.
    if (version.jobId) await markCancelled(tx, version.jobId);
    await tx.delete(chunks).where(and(eq(chunks.version, number), inArray(chunks.documentId, tx.select({ id: documents.id }).from(documents).where(eq(documents.collectionId, locked.id)))));
    await tx.update(collectionVersions).set({ status: 'dropped' }).where(eq(collectionVersions.id, version.id));
    await tx.insert(outbox).values({ op: 'drop', indexName: version.indexName, collectionId: null, externalId: null });
  });
}

/** Documents stale at the collection's current version (after switching back, until its catch-up ends). */
export function staleAtCurrent(db: Database, collection: CollectionRecord): Promise<number> {
  return countStaleDocuments(db, collection.id, collection.version);
}
