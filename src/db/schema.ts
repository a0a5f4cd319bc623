import { sql } from 'drizzle-orm';
import { bigserial, bigint, boolean, customType, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** Raw little-endian float32 bytes: 3 KB for a 768-d vector, a third of real[]'s text form. */
const vectorBytes = customType<{ data: Float32Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => {
    const copy = new Uint8Array(value); // aligned copy: drivers hand out views into larger buffers
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  },
});

const timestamps = {
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
};

/**
 * The model configuration vectors were made with: a collection's current one and every
 * version's. Fresh builders per call: a column builder belongs to the one table it is used in.
 */
const modelBinding = () => ({
  modelId: text().notNull(),
  modelRevision: text(),
  pooling: text().notNull(),
  normalize: boolean().notNull(),
  maxTokens: integer().notNull(),
  dims: integer().notNull(),
  distance: text().notNull(),
  /** Model prompts the vectors were made with: documents with one, searches with the other. */
  queryPrefix: text().notNull().default(''),
  documentPrefix: text().notNull().default(''),
  chunkOverlap: integer().notNull().default(0),
  /** Weight precision the vectors were made with ('none' = fp32, 'int8'): int8 and fp32 vectors never share a collection. */
  quantize: text().notNull().default('none'),
});

/** A collection binds one model configuration; its vectors live in index collection `indexName`. */
export const collections = pgTable('collections', {
  id: serial().primaryKey(),
  name: text().notNull().unique(),
  ...modelBinding(),
  indexName: text().notNull(),
  version: integer().notNull().default(1),
  ...timestamps,
});

export const documents = pgTable(
  'documents',
  {
    id: bigserial({ mode: 'number' }).primaryKey(),
    collectionId: integer().notNull().references(() => collections.id, { onDelete: 'cascade' }),
    externalId: text().notNull(),
    title: text(),
    body: text().notNull().default(''),
    metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    labels: text().array().notNull().default(sql`'{}'::text[]`),
    /** sha256 of what is embedded (title + body): a change means re-embedding. */
    contentHash: text().notNull(),
    /** sha256 of metadata + labels: a change means a payload update only. */
    metadataHash: text().notNull(),
    chunkCount: integer().notNull().default(0),
    ...timestamps,
  },
  (t) => [uniqueIndex('documents_collection_external_uq').on(t.collectionId, t.externalId)],
);

/**
 * A document's chunks as one collection version's model embedded them. Each version keeps its
 * own rows, so a re-index fills a new version while searches read the current one.
 */
export const chunks = pgTable(
  'chunks',
  {
    documentId: bigint({ mode: 'number' }).notNull().references(() => documents.id, { onDelete: 'cascade' }),
    version: integer().notNull().default(1),
    chunkIndex: integer().notNull(),
    startOffset: integer().notNull(),
    endOffset: integer().notNull(),
    tokenCount: integer().notNull(),
    /** The document's contentHash these chunks were embedded from: another hash means stale for this version. */
    contentHash: text().notNull().default(''),
    vector: vectorBytes().notNull(),
  },
  (t) => [primaryKey({ columns: [t.documentId, t.version, t.chunkIndex] })],
);

/**
 * Every model configuration a collection has had or is being re-indexed to. The collection row
 * carries the current one's binding (its `version` column names it); switching copies a ready
 * version's binding there in one transaction and moves the index alias.
 */
export const collectionVersions = pgTable(
  'collection_versions',
  {
    id: serial().primaryKey(),
    collectionId: integer().notNull().references(() => collections.id, { onDelete: 'cascade' }),
    version: integer().notNull(),
    ...modelBinding(),
    indexName: text().notNull(),
    /** building (its re-index job runs), ready (complete: may be current), failed. */
    status: text().notNull(),
    /** The re-index job that fills it; null for a collection's first version. */
    jobId: uuid(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    readyAt: timestamp({ withTimezone: true }),
  },
  (t) => [uniqueIndex('collection_versions_uq').on(t.collectionId, t.version)],
);

export const jobs = pgTable('jobs', {
  id: uuid().primaryKey().defaultRandom(),
  // set null, not cascade: a job outlives its collection, so its runner sees the delete,
  // stops, fails the job with that reason and removes the upload (issue 10).
  collectionId: integer().references(() => collections.id, { onDelete: 'set null' }),
  kind: text().notNull(),
  status: text().notNull(),
  total: integer(),
  done: integer().notNull().default(0),
  failed: integer().notNull().default(0),
  errors: jsonb().$type<{ record: number; detail: string }[]>().notNull().default([]),
  state: jsonb().$type<Record<string, unknown>>().notNull().default({}),
  /** The process holding the job (it plans its batches); another may take it once the lease expires. */
  leaseOwner: text(),
  leaseExpiresAt: timestamp({ withTimezone: true }),
  /** How many times a process has claimed it. */
  attempts: integer().notNull().default(0),
  ...timestamps,
  finishedAt: timestamp({ withTimezone: true }),
});

/**
 * A job's work cut into batches any worker may claim (with a lease, like jobs), embed and
 * write. Marking a batch done happens in the transaction that writes its documents, fenced
 * by the lease, so a batch embedded twice after a crash writes once.
 */
export const jobBatches = pgTable(
  'job_batches',
  {
    id: bigserial({ mode: 'number' }).primaryKey(),
    jobId: uuid().notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    /** Order within the job: where one id occurs in two batches, the later batch's record wins. */
    seq: integer().notNull(),
    /** pending (claimable once unleased or its lease expired), done, failed. */
    status: text().notNull(),
    /** What to embed: an import's parsed records, or a re-index's document ids. */
    payload: jsonb().$type<Record<string, unknown>>().notNull(),
    /** External ids in the batch, for the later-batch-wins check. */
    externalIds: text().array().notNull().default(sql`'{}'::text[]`),
    records: integer().notNull(),
    done: integer().notNull().default(0),
    failed: integer().notNull().default(0),
    errors: jsonb().$type<{ record: number; detail: string }[]>().notNull().default([]),
    leaseOwner: text(),
    leaseExpiresAt: timestamp({ withTimezone: true }),
    attempts: integer().notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex('job_batches_job_seq_uq').on(t.jobId, t.seq),
    index('job_batches_pending_idx').on(t.jobId, t.seq).where(sql`${t.status} = 'pending'`),
  ],
);

/**
 * Changes the vector index must see, written in the same transaction as the catalog change.
 * `sync` rows name a document; the worker makes the index agree with the catalog's current
 * state of that document, so replays and reorderings converge. `drop` rows remove an index
 * collection left behind by a dropped collection or an old version.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial({ mode: 'number' }).primaryKey(),
    op: text().notNull(),
    indexName: text().notNull(),
    collectionId: integer(),
    externalId: text(),
    attempts: integer().notNull().default(0),
    nextAttemptAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastError: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('outbox_due_idx').on(t.nextAttemptAt, t.id),
    // The worker's drop barrier asks, per claimed row, for an earlier drop of its index name.
    index('outbox_drops_idx').on(t.indexName, t.id).where(sql`${t.op} = 'drop'`),
  ],
);

/** API keys: only a sha256 of the secret is kept; `prefix` identifies a key in lists and logs. */
export const apiKeys = pgTable('api_keys', {
  id: serial().primaryKey(),
  name: text().notNull(),
  prefix: text().notNull().unique(),
  secretHash: text().notNull(),
  scope: text().notNull(),
  rateLimitPerMinute: integer().notNull().default(600),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp({ withTimezone: true }),
  revokedAt: timestamp({ withTimezone: true }),
});
