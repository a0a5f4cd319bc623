import { eq, asc } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { collections, collectionVersions, outbox } from '../db/schema.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import type { Distance } from '../vectors/vector-index.js';

export type CollectionRecord = typeof collections.$inferSelect;

export interface CollectionConfig {
  name: string;
  modelId: string;
  modelRevision: string | null;
  pooling: string;
  normalize: boolean;
  maxTokens: number;
  dims: number;
  distance: Distance;
  queryPrefix: string;
  documentPrefix: string;
  chunkOverlap: number;
  /** 'none' (fp32, the default) or 'int8'. */
  quantize?: string;
}

// Both prompts are bound: queries must be embedded the way the collection's vectors expect.
const BOUND_FIELDS = ['modelId', 'modelRevision', 'pooling', 'normalize', 'maxTokens', 'dims', 'distance', 'queryPrefix', 'documentPrefix', 'quantize'] as const;

type BoundField = (typeof BOUND_FIELDS)[number];

/** The bound fields in which two model configurations differ (none: their vectors are comparable). */
type Binding = Omit<Pick<CollectionRecord, BoundField>, 'quantize'> & { quantize?: string };

export function differingBindings(a: Binding, b: Binding): BoundField[] {
  // A binding that names no precision is fp32: collections made before --quantize existed.
  const value = (x: Binding, f: BoundField) => (f === 'quantize' ? (x.quantize ?? 'none') : x[f]);
  return BOUND_FIELDS.filter((f) => value(a, f) !== value(b, f));
}

/** The model binding columns a collection row and a version row share. */
export function bindingColumns(c: Pick<CollectionRecord, 'modelId' | 'modelRevision' | 'pooling' | 'normalize' | 'maxTokens' | 'dims' | 'distance' | 'queryPrefix' | 'documentPrefix' | 'chunkOverlap' | 'quantize'>) {
  return {
    modelId: c.modelId, modelRevision: c.modelRevision, pooling: c.pooling, normalize: c.normalize, maxTokens: c.maxTokens, dims: c.dims,
    distance: c.distance, queryPrefix: c.queryPrefix, documentPrefix: c.documentPrefix, chunkOverlap: c.chunkOverlap, quantize: c.quantize,
  };
}

/** The index collection holding a catalog collection's vectors at a given version. */
export const indexNameFor = (name: string, version: number) => `${name}__v${version}`;

/**
 * Creates a collection bound to a model configuration, or returns the existing one when its
 * configuration is the same. Throws ConflictError naming the fields that differ.
 */
export async function ensureCollectionRecord(db: Database, asked: CollectionConfig): Promise<CollectionRecord> {
  const config = { ...asked, quantize: asked.quantize ?? 'none' };
  const existing = await findCollection(db, config.name);
  if (existing) {
    const differing = differingBindings(existing, config);
    if (differing.length > 0) {
      const detail = differing.map((f) => `${f} ${JSON.stringify(existing[f])} (asked ${JSON.stringify(config[f])})`).join(', ');
      throw new ConflictError(`collection ${config.name} is bound to another model configuration: ${detail}`);
    }
    return existing;
  }
  const created = await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(collections)
      .values({ ...config, indexName: indexNameFor(config.name, 1), version: 1 })
      .onConflictDoNothing({ target: collections.name })
      .returning();
    // Version 1 is ready from the start: documents are embedded into it as they are written.
    if (row) await tx.insert(collectionVersions).values({ ...bindingColumns(row), collectionId: row.id, version: 1, indexName: row.indexName, status: 'ready', readyAt: new Date() });
    return row;
  });
  // Lost a creation race: the other writer's row is the collection.
  return created ?? (await getCollection(db, config.name));
}

export async function findCollection(db: Database, name: string): Promise<CollectionRecord | undefined> {
  const [row] = await db.select().from(collections).where(eq(collections.name, name)).limit(1);
  return row;
}

/** Throws NotFoundError. */
export async function getCollection(db: Database, name: string): Promise<CollectionRecord> {
  const row = await findCollection(db, name);
  if (!row) throw new NotFoundError('collection', name);
  return row;
}

export async function getCollectionById(db: Database, id: number): Promise<CollectionRecord | undefined> {
  const [row] = await db.select().from(collections).where(eq(collections.id, id)).limit(1);
  return row;
}

export function listCollections(db: Database): Promise<CollectionRecord[]> {
  return db.select().from(collections).orderBy(asc(collections.name));
}

/** Deletes a collection with its documents, and queues the removal of its index collection. Throws NotFoundError. */
export async function dropCollectionRecord(db: Database, name: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [found] = await tx.select({ id: collections.id }).from(collections).where(eq(collections.name, name));
    if (!found) throw new NotFoundError('collection', name);
    const versions = await tx.select({ indexName: collectionVersions.indexName }).from(collectionVersions).where(eq(collectionVersions.collectionId, found.id));
    const [row] = await tx.delete(collections).where(eq(collections.id, found.id)).returning();
    if (!row) throw new NotFoundError('collection', name);
    // Every version's index collection goes (the alias goes with the one it points at).
    const indexNames = new Set([row.indexName, ...versions.map((v) => v.indexName)]);
    await tx.insert(outbox).values([...indexNames].map((indexName) => ({ op: 'drop', indexName, collectionId: null, externalId: null })));
  });
}
