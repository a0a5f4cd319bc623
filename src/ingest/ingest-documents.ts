import type { CollectionRecord } from '../catalog/collections.js';
import { planDocuments, writeDocuments, type ChunkRow, type DocumentInput, type DocumentWrite } from '../catalog/documents.js';
import type { Database } from '../db/client.js';
import type { Priority } from '../embedding/batcher.js';
import type { Embedder } from '../embedding/embedder.js';
import { InvalidInputError, type FieldIssue } from '../lib/errors.js';

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

/** The text a document is embedded from: title and body, as one passage. */
export function embeddedText(doc: Pick<DocumentInput, 'title' | 'body'>): string {
  return doc.title ? (doc.body ? `${doc.title}\n\n${doc.body}` : doc.title) : doc.body;
}

/**
 * Ingests a batch of documents: plans from stored hashes, embeds only new or changed text
 * (cut into model-sized chunks), then writes documents, chunks and outbox rows in one
 * transaction. Throws what embed() throws (invalid text, overload) before writing anything.
 */
export async function ingestDocuments(opts: {
  db: Database;
  embedder: Embedder;
  collection: CollectionRecord;
  documents: DocumentInput[];
  priority?: Priority;
  signal?: AbortSignal;
}): Promise<IngestOutcome[]> {
  const { collection, embedder } = opts;
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
  await writeDocuments(opts.db, collection, writes);
  return opts.documents.map((d) => outcomes.get(d.externalId)!);
}
