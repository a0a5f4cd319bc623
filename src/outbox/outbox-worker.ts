import { and, asc, eq, gt, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import { getCollectionById, type CollectionRecord } from '../catalog/collections.js';
import { collectionAtIndex } from '../catalog/collection-versions.js';
import { chunksByDocument } from '../catalog/documents.js';
import type { Database } from '../db/client.js';
import { documents, outbox } from '../db/schema.js';
import { InvalidInputError, NotFoundError, UpstreamUnavailableError } from '../lib/errors.js';
import type { VectorIndex } from '../vectors/vector-index.js';
import { findIndexesWithoutLexical, findMissingIndexes, queueCollectionResync } from './index-recovery.js';
import { indexSpecFor, pointsFor } from './index-points.js';

export interface OutboxWorkerOptions {
  db: Database;
  index: VectorIndex;
  /** Rows claimed per round. */
  batchSize?: number;
  /** A claimed row becomes claimable again after this long (the claimer died). */
  leaseMs?: number;
  /** Retry delay after the n-th failure: min(maxBackoffMs, baseBackoffMs·2^n) with jitter. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often the background loop looks for index collections lost behind its back. Default 10 s. */
  indexCheckMs?: number;
  onError?: (err: unknown, rows: number) => void;
  /** An index collection was missing and is being rebuilt from the catalog (`queued` documents). */
  onRebuild?: (collection: string, indexName: string, queued: number) => void;
}

type OutboxRow = typeof outbox.$inferSelect;

export interface RoundResult {
  applied: number;
  failed: number;
}

/**
 * Applies outbox rows to the vector index. Rows are claimed with a lease (so several
 * workers share the load and a dead worker's rows come back), applied idempotently, and
 * deleted only after the index acknowledged them. A failure reschedules the rows with
 * exponential backoff; the catalog keeps accepting writes meanwhile. A `drop` row is a
 * barrier: no later row of the same index name is claimed before it is applied, whatever
 * the backoffs, so a collection deleted and re-created under the same name during an outage
 * cannot have its new points deleted by the old one's late drop (issue 11).
 */
export class OutboxWorker {
  private readonly ensured = new Set<string>();
  /** Set by an outage (and at start): the next successful round makes every backed-off row due. */
  private shouldCatchUp = true;
  private lastIndexCheck = 0;
  private hasCheckedLexical = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: OutboxWorkerOptions) {}

  /** Claims and applies one batch of due rows. */
  async runOnce(): Promise<RoundResult> {
    const rows = await this.claim();
    if (rows.length === 0) {
      // Every row may be waiting out a backoff (or stand behind a drop that is): ask the index
      // whether it answers again rather than wait for the longest backoff to pass.
      if (this.shouldCatchUp && (await this.isIndexAnswering())) await this.catchUp();
      return { applied: 0, failed: 0 };
    }
    try {
      await this.apply(rows);
    } catch (err) {
      if (err instanceof UpstreamUnavailableError) this.shouldCatchUp = true;
      this.opts.onError?.(err, rows.length);
      await this.reschedule(rows, err);
      return { applied: 0, failed: rows.length };
    }
    await this.opts.db.delete(outbox).where(inArray(outbox.id, rows.map((r) => r.id)));
    if (this.shouldCatchUp) await this.catchUp();
    return { applied: rows.length, failed: 0 };
  }

  /**
   * The index answers again: rows still waiting out a backoff from the outage become due now,
   * instead of each one waiting up to maxBackoffMs. Claimed rows (leased, lastError cleared)
   * are left alone, so no row is applied twice at once. Only after an outage or a start, so a
   * row that keeps failing for its own reasons keeps its backoff.
   */
  private async catchUp(): Promise<void> {
    this.shouldCatchUp = false;
    await this.opts.db
      .update(outbox)
      .set({ nextAttemptAt: sql`now()` })
      .where(and(isNotNull(outbox.lastError), gt(outbox.nextAttemptAt, sql`now()`)));
  }

  private async isIndexAnswering(): Promise<boolean> {
    try {
      await this.opts.index.collectionInfo('__outbox_probe__');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Re-creates every index collection that holds documents in the catalog but is missing from
   * the index (lost behind biovec's back), and queues a sync of all its documents. Returns the
   * catalog collections being rebuilt.
   */
  async rebuildMissingIndexes(): Promise<string[]> {
    const rebuilt: string[] = [];
    for (const collection of await findMissingIndexes(this.opts.db, this.opts.index)) {
      await this.rebuild(collection);
      rebuilt.push(collection.name);
    }
    return rebuilt;
  }

  /**
   * Gives index collections made before issue 15 their lexical index where the index can add
   * one in place (embedded), and queues a sync of all their documents, which writes every
   * point's terms from the stored chunk text (no re-embedding). Qdrant cannot add a sparse
   * vector to a collection: those stay dense-only until `biovec reconcile --repair --lexical`
   * re-creates them. Returns the catalog collections being filled.
   */
  async buildLexicalIndexes(): Promise<string[]> {
    const built: string[] = [];
    for (const collection of await findIndexesWithoutLexical(this.opts.db, this.opts.index)) {
      await this.opts.index.ensureCollection(indexSpecFor(collection));
      this.ensured.add(collection.indexName);
      if (!(await this.opts.index.collectionInfo(collection.indexName))?.lexical) continue;
      const queued = await queueCollectionResync(this.opts.db, collection);
      this.opts.onRebuild?.(collection.name, collection.indexName, queued);
      built.push(collection.name);
    }
    return built;
  }

  private async rebuild(collection: CollectionRecord): Promise<void> {
    this.ensured.delete(collection.indexName);
    await this.opts.index.ensureCollection(indexSpecFor(collection));
    this.ensured.add(collection.indexName);
    const queued = await queueCollectionResync(this.opts.db, collection);
    this.opts.onRebuild?.(collection.name, collection.indexName, queued);
  }

  /** Rows not yet applied (due or waiting for a retry). */
  async backlog(): Promise<number> {
    const [row] = await this.opts.db.select({ n: sql<number>`count(*)::int` }).from(outbox);
    return row?.n ?? 0;
  }

  /** Seconds since the oldest unapplied row was written (0 when none). */
  async lagSeconds(): Promise<number> {
    const [row] = await this.opts.db.select({ s: sql<number>`coalesce(extract(epoch from now() - min(created_at)), 0)::float8` }).from(outbox);
    return row?.s ?? 0;
  }

  /** Runs rounds until the backlog is empty or the deadline passes; returns the backlog left. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { applied, failed } = await this.runOnce();
      if (applied === 0 && failed === 0) {
        if ((await this.backlog()) === 0) return 0;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return this.backlog();
  }

  /** Polls in the background until stop(). */
  start(pollMs = 500): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = (async () => {
      while (!this.stopping) {
        await this.checkIndexes();
        const result = await this.runOnce().catch((err: unknown) => {
          this.opts.onError?.(err, 0);
          return { applied: 0, failed: 1 };
        });
        if (result.applied === 0) await new Promise<void>((r) => { this.wake = r; setTimeout(r, pollMs).unref(); });
      }
    })();
  }

  /** Nudges a sleeping loop (after a write). */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** At most every indexCheckMs: nothing else notices a lost index collection that no write touches. */
  private async checkIndexes(): Promise<void> {
    const everyMs = this.opts.indexCheckMs ?? 10_000;
    if (Date.now() - this.lastIndexCheck < everyMs) return;
    this.lastIndexCheck = Date.now();
    await this.rebuildMissingIndexes().catch((err: unknown) => this.opts.onError?.(err, 0));
    // Once per start: collections only lack a lexical index when they predate it.
    if (!this.hasCheckedLexical) {
      await this.buildLexicalIndexes().then(() => { this.hasCheckedLexical = true; }, (err: unknown) => this.opts.onError?.(err, 0));
    }
  }

  private async claim(): Promise<OutboxRow[]> {
    const { db } = this.opts;
    const leaseMs = this.opts.leaseMs ?? 60_000;
    return db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(outbox)
        .where(and(
          lte(outbox.nextAttemptAt, sql`now()`),
          // The drop barrier (see the class comment); outbox_drops_idx keeps it cheap in a big backlog.
          sql`not exists (select 1 from ${outbox} earlier where earlier.op = 'drop' and earlier.index_name = ${outbox.indexName} and earlier.id < ${outbox.id})`,
        ))
        .orderBy(asc(outbox.id))
        .limit(this.opts.batchSize ?? 256)
        .for('update', { skipLocked: true });
      if (due.length === 0) return [];
      await tx
        .update(outbox)
        // lastError is cleared while leased: it marks the rows waiting out a backoff (catchUp).
        .set({ nextAttemptAt: sql`now() + ${`${leaseMs} milliseconds`}::interval`, attempts: sql`${outbox.attempts} + 1`, lastError: null })
        .where(inArray(outbox.id, due.map((r) => r.id)));
      return due;
    });
  }

  private async apply(rows: OutboxRow[]): Promise<void> {
    // Rows for the same document collapse: a sync reads the current state anyway.
    const groups = new Map<string, { collectionId: number; indexName: string; externalIds: Set<string> }>();
    const aliases: OutboxRow[] = [];
    for (const row of rows) {
      if (row.op === 'drop') {
        await this.opts.index.dropCollection(row.indexName);
        this.ensured.delete(row.indexName);
        continue;
      }
      if (row.op === 'alias') {
        aliases.push(row);
        continue;
      }
      if (row.collectionId === null || row.externalId === null) continue;
      const key = `${row.collectionId}\u0000${row.indexName}`;
      const group = groups.get(key) ?? { collectionId: row.collectionId, indexName: row.indexName, externalIds: new Set<string>() };
      group.externalIds.add(row.externalId);
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      const current = await getCollectionById(this.opts.db, group.collectionId);
      if (!current) continue; // dropped since: its drop row removes the index collection
      // A row names one version's index collection: it gets that version's chunks.
      const collection = await collectionAtIndex(this.opts.db, current, group.indexName);
      if (!collection) continue; // that version was dropped since: its drop row removes it
      await this.syncDocuments(collection, group.indexName, [...group.externalIds]);
    }
    for (const row of aliases) await this.pointAlias(row);
  }

  /** An `alias` row (a version switch): points alias `externalId` at index collection `indexName`. */
  private async pointAlias(row: OutboxRow): Promise<void> {
    const current = row.collectionId === null ? undefined : await getCollectionById(this.opts.db, row.collectionId);
    if (!current || row.externalId === null) return;
    // Only the version still current: a later switch queued its own row.
    if (current.indexName !== row.indexName) return;
    if (!this.ensured.has(row.indexName)) {
      await this.opts.index.ensureCollection(indexSpecFor(current));
      this.ensured.add(row.indexName);
    }
    try {
      await this.opts.index.setAlias(row.externalId, row.indexName);
    } catch (err) {
      // The name is taken by an index collection (a catalog collection named like another's
      // version): nothing retrying fixes that, and biovec itself never reads through the alias.
      if (!(err instanceof InvalidInputError)) throw err;
      this.opts.onError?.(err, 1);
    }
  }

  /**
   * Makes the index hold exactly the catalog's current chunks of these documents. When the index
   * collection turns out to be gone, though this process created or saw it, every point it held
   * is gone with it: re-create it and queue all the collection's documents, then retry these.
   */
  private async syncDocuments(collection: CollectionRecord, indexName: string, externalIds: string[]): Promise<void> {
    try {
      await this.writeDocuments(collection, indexName, externalIds);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      await this.rebuild(collection);
      await this.writeDocuments(collection, indexName, externalIds);
    }
  }

  private async writeDocuments(collection: CollectionRecord, indexName: string, externalIds: string[]): Promise<void> {
    const { index, db } = this.opts;
    if (!this.ensured.has(indexName)) {
      await index.ensureCollection(indexSpecFor(collection, indexName));
      this.ensured.add(indexName);
    }
    const docs = await db.select().from(documents).where(and(eq(documents.collectionId, collection.id), inArray(documents.externalId, externalIds)));
    const chunksOf = await chunksByDocument(db, docs.map((d) => d.id), collection.version);
    const points = docs.flatMap((doc) => pointsFor(collection, doc, chunksOf.get(doc.id) ?? []));
    if (points.length > 0) await index.upsert(indexName, points);
    const present = new Set(docs.map((d) => d.externalId));
    const gone = externalIds.filter((id) => !present.has(id));
    if (gone.length > 0) await index.deleteByFilter(indexName, { must: [{ key: 'document_id', any: gone }] });
    // Chunks past a document's current count belonged to a longer earlier text; a document this
    // version has not embedded since its text changed (stale: no fresh chunks) keeps none.
    const byCount = new Map<number, string[]>();
    for (const doc of docs) {
      const count = chunksOf.get(doc.id)?.length ?? 0;
      byCount.set(count, [...(byCount.get(count) ?? []), doc.externalId]);
    }
    for (const [count, ids] of byCount) {
      await index.deleteByFilter(indexName, { must: [{ key: 'document_id', any: ids }, { key: 'chunk_index', range: { gte: count } }] });
    }
  }

  private async reschedule(rows: OutboxRow[], err: unknown): Promise<void> {
    const base = this.opts.baseBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    const message = err instanceof Error ? err.message.slice(0, 500) : String(err);
    for (const row of rows) {
      const delay = Math.min(max, base * 2 ** Math.min(row.attempts, 16)) * (0.5 + Math.random() / 2);
      await this.opts.db
        .update(outbox)
        .set({ nextAttemptAt: sql`now() + ${`${Math.round(delay)} milliseconds`}::interval`, lastError: message })
        .where(and(eq(outbox.id, row.id)));
    }
  }
}
