import { getCollectionById, type CollectionRecord } from '../catalog/collections.js';
import { planDocuments, VersionChangedError, writeDocuments, type ChunkRow, type DocumentInput, type DocumentWrite } from '../catalog/documents.js';
import type { Database } from '../db/client.js';
import type { Priority } from '../embedding/batcher.js';
import type { Embedder } from '../embedding/embedder.js';
import type { EmbedderSource } from '../jobs/job-kind.js';
import { ConflictError, InvalidInputError, NotFoundError, type FieldIssue } from '../lib/errors.js';

export type IngestStatus = 'created' | 'updated' | 'unchanged';

export interface IngestOutcome {
  externalId: string;
  status: IngestStatus;
  /** Chunks embedded for this document (0 when only metadata changed). */
  embeddedChunks: number;
}

/** Every document needs an id and some text; collects all problems with JSON pointers. */
export function validateDocuments(docs: DocumentInput[]): void {
  const issues: FieldIssue[] = [];
  docs.forEach((d, i) => {
    if (typeof d.externalId !== 'string' || d.externalId.trim() === '') issues.push({ pointer: `/${i}/id`, detail: 'is required (a non-empty string)' });
    else if (d.externalId.length > 512) issues.push({ pointer: `/${i}/id`, detail: 'is longer than 512 characters' });
    const text = embeddedText(d);
    if (typeof d.body !== 'string' || (d.title !== undefined && d.title !== null && typeof d.title !== 'string')) issues.push({ pointer: `/${i}/text`, detail: 'title and text must be strings' });
    else if (text.trim() === '') issues.push({ pointer: `/${i}/text`, detail: 'is empty: a document needs a title or text' });
    else if (!text.isWellFormed()) issues.push({ pointer: `/${i}/text`, detail: 'is not valid Unicode' });
  });
  if (issues.length > 0) throw new InvalidInputError(`invalid documents: ${issues.slice(0, 5).map((x) => `${x.pointer} ${x.detail}`).join('; ')}`, issues);
}

/**
 * int8 and fp32 vectors of one model are close (cosine ≈ 0.995) but not equal: mixed in one
 * collection, rankings would depend on which run wrote a document. A server or CLI started
 * with another --quantize than the collection's is refused (409) before anything is embedded.
 */
function assertSamePrecision(collection: CollectionRecord, embedder: Embedder): void {
  if (collection.quantize === embedder.info.quantize) return;
  throw new ConflictError(
    `collection ${collection.name} holds ${collection.quantize === 'int8' ? 'int8' : 'fp32'} vectors (quantize ${collection.quantize}); ` +
      `the loaded model runs with quantize ${embedder.info.quantize}: restart with --quantize ${collection.quantize}, or use another collection`,
  );
}

/** The text a document is embedded from: title and body, as one passage. */
export function embeddedText(doc: Pick<DocumentInput, 'title' | 'body'>): string {
  return doc.title ? (doc.body ? `${doc.title}\n\n${doc.body}` : doc.title) : doc.body;
}

/** A batch planned and embedded, not yet written: see prepareIngest / commitIngest. */
export interface PreparedIngest {
  collection: CollectionRecord;
  writes: DocumentWrite[];
  outcomes: IngestOutcome[];
}

/**
 * Ingests a batch of documents: plans from stored hashes, embeds only new or changed text
 * (cut into model-sized chunks), then writes documents, chunks and outbox rows in one
 * transaction. Throws what embed() throws (invalid text, overload) before writing anything.
 */
export async function ingestDocuments(opts: IngestOptions): Promise<IngestOutcome[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await commitIngest(opts.db, await prepareIngest(opts));
    } catch (err) {
      // The collection switched version meanwhile: embed again with its new model.
      if (!(err instanceof VersionChangedError) || !opts.embedders || attempt >= 3) throw err;
      const collection = await getCollectionById(opts.db, opts.collection.id);
      if (!collection) throw new NotFoundError('collection', opts.collection.name);
      opts = { ...opts, collection, embedder: await opts.embedders.forBinding(collection) };
    }
  }
}

export interface IngestOptions {
  db: Database;
  /** The model of the collection's current version (see embedderFor). */
  embedder: Embedder;
  /** Given: a version switch between embedding and writing is retried with the new version's model. */
  embedders?: EmbedderSource;
  collection: CollectionRecord;
  documents: DocumentInput[];
  priority?: Priority;
  signal?: AbortSignal;
}

/**
 * The first half of ingestDocuments: plan and embed, no write. The plan reads the stored
 * hashes, so a batch that shares ids with one not yet committed must wait for that commit
 * (importRecords' pipeline does). Throws what ingestDocuments throws before writing.
 */
export async function prepareIngest(opts: IngestOptions): Promise<PreparedIngest> {
  const { collection, embedder } = opts;
  assertSamePrecision(collection, embedder);
  validateDocuments(opts.documents);
  // The last occurrence of an id in one batch wins, as a sequence of writes would.
  const byId = new Map(opts.documents.map((d) => [d.externalId, d]));
  const planned = await planDocuments(opts.db, collection, [...byId.values()]);
  const writes: DocumentWrite[] = [];
  const outcomes = new Map<string, IngestOutcome>();
  const toEmbed = planned.filter((p) => p.action === 'create' || p.action === 'content');
  const chunked = await Promise.all(toEmbed.map((p) => embedder.chunk(embeddedText(p.input), { overlapTokens: collection.chunkOverlap, maxTokens: collection.maxTokens, prefix: collection.documentPrefix })));
  const vectors = await embedder.embedChunks(chunked.flat(), { priority: opts.priority ?? 'bulk', signal: opts.signal });
  let next = 0;
  toEmbed.forEach((p, i) => {
    const rows: ChunkRow[] = chunked[i]!.map((c) => ({ chunkIndex: c.index, startOffset: c.start, endOffset: c.end, tokenCount: c.tokenCount, vector: vectors[next++]! }));
    writes.push({ ...p, chunks: rows });
    outcomes.set(p.input.externalId, { externalId: p.input.externalId, status: p.action === 'create' ? 'created' : 'updated', embeddedChunks: rows.length });
  });
  for (const p of planned) {
    if (p.action === 'metadata') {
      writes.push(p);
      outcomes.set(p.input.externalId, { externalId: p.input.externalId, status: 'updated', embeddedChunks: 0 });
    } else if (p.action === 'unchanged') {
      outcomes.set(p.input.externalId, { externalId: p.input.externalId, status: 'unchanged', embeddedChunks: 0 });
    }
  }
  return { collection, writes, outcomes: opts.documents.map((d) => outcomes.get(d.externalId)!) };
}

/** The second half of ingestDocuments: one transaction for a prepared batch. */
export async function commitIngest(db: Database, prepared: PreparedIngest): Promise<IngestOutcome[]> {
  await writeDocuments(db, prepared.collection, prepared.writes);
  return prepared.outcomes;
}
