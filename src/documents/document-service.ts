import { embedderFor, type AppDeps } from '../app-deps.js';
import { getCollection, type CollectionRecord } from '../catalog/collections.js';
import { deleteDocuments, documentChunks, findDocument, type DocumentInput } from '../catalog/documents.js';
import { embeddedText, ingestDocuments, validateDocuments } from '../ingest/ingest-documents.js';
import { InvalidInputError, NotFoundError } from '../lib/errors.js';
import { zodIssues } from '../http/validation.js';
import { DocumentInputSchema, type DocumentInputBody } from './document-schemas.js';

export interface IngestReport {
  results: { id: string | null; index: number; status: 'created' | 'updated' | 'unchanged' | 'failed'; chunks?: number; error?: string }[];
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
}

export function toDocumentInput(d: DocumentInputBody): DocumentInput {
  return { externalId: d.id, title: d.title ?? null, body: d.text ?? d.abstract ?? d.body ?? '', metadata: d.metadata ?? {}, labels: d.labels ?? [] };
}

/**
 * Validates each item on its own (a bad document fails alone, with its reason), then ingests
 * the valid ones in one call. Throws OverloadedError (429) before writing anything.
 */
export async function ingestItems(deps: AppDeps, collectionName: string, items: unknown[], signal?: AbortSignal): Promise<IngestReport> {
  const collection = await getCollection(deps.db, collectionName);
  const results: IngestReport['results'] = [];
  const valid: { index: number; doc: DocumentInput }[] = [];
  const firstIndexOf = new Map<string, number>();
  items.forEach((item, index) => {
    const parsed = DocumentInputSchema.safeParse(item);
    const rawId = item && typeof item === 'object' ? (item as { id?: unknown }).id : undefined;
    const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : null;
    if (!parsed.success) {
      results[index] = { id, index, status: 'failed', error: zodIssues(parsed.error, `/${index}`).map((i) => `${i.pointer}: ${i.detail}`).join('; ') };
      return;
    }
    const doc = toDocumentInput(parsed.data);
    // One outcome per id: a second copy in the same request is refused, not silently merged
    // into (or reported as) a second write of the same document.
    const first = firstIndexOf.get(doc.externalId);
    if (first !== undefined) {
      results[index] = { id, index, status: 'failed', error: `/${index}/id: duplicate id: the same id is at /${first} in this request` };
      return;
    }
    try {
      validateDocuments([doc]);
      firstIndexOf.set(doc.externalId, index);
      valid.push({ index, doc });
    } catch (err) {
      results[index] = { id, index, status: 'failed', error: err instanceof InvalidInputError ? err.issues.map((i) => i.detail).join('; ') : String(err) };
    }
  });
  if (valid.length > 0) {
    const outcomes = await ingestDocuments({ db: deps.db, embedder: await embedderFor(deps, collection), embedders: deps.embedders, collection, documents: valid.map((v) => v.doc), priority: 'bulk', signal });
    outcomes.forEach((o, k) => {
      const index = valid[k]!.index;
      results[index] = { id: o.externalId, index, status: o.status, chunks: o.embeddedChunks };
    });
    deps.worker.notify();
  }
  const count = (s: string) => results.filter((r) => r.status === s).length;
  return { results, created: count('created'), updated: count('updated'), unchanged: count('unchanged'), failed: count('failed') };
}

export async function readDocument(deps: AppDeps, collectionName: string, id: string, withVectors: boolean) {
  const collection = await getCollection(deps.db, collectionName);
  const doc = await findDocument(deps.db, collection, id);
  if (!doc) throw new NotFoundError('document', id);
  const chunks = await documentChunks(deps.db, doc.id, collection.version);
  return {
    id: doc.externalId,
    title: doc.title,
    text: doc.body,
    metadata: doc.metadata,
    labels: doc.labels,
    chunks: chunks.map((c) => ({ index: c.chunkIndex, start: c.startOffset, end: c.endOffset, tokens: c.tokenCount, ...(withVectors ? { vector: Array.from(c.vector) } : {}) })),
    created_at: doc.createdAt.toISOString(),
    updated_at: doc.updatedAt.toISOString(),
  };
}

/** Merges a patch into the stored document and re-ingests it (re-embedding only if the text changed). */
export async function patchDocument(deps: AppDeps, collectionName: string, id: string, patch: { title?: string | null; text?: string; metadata?: Record<string, unknown>; labels?: string[] }) {
  const collection: CollectionRecord = await getCollection(deps.db, collectionName);
  const doc = await findDocument(deps.db, collection, id);
  if (!doc) throw new NotFoundError('document', id);
  const merged: DocumentInput = {
    externalId: id,
    title: patch.title === undefined ? doc.title : patch.title,
    body: patch.text ?? doc.body,
    metadata: patch.metadata === undefined ? doc.metadata : { ...doc.metadata, ...patch.metadata },
    labels: patch.labels ?? doc.labels,
  };
  if (embeddedText(merged).trim() === '') throw new InvalidInputError('the patch leaves the document without title or text', [{ pointer: '/text', detail: 'empty' }]);
  const [outcome] = await ingestDocuments({ db: deps.db, embedder: await embedderFor(deps, collection), embedders: deps.embedders, collection, documents: [merged], priority: 'interactive' });
  deps.worker.notify();
  return outcome!;
}

export async function removeDocument(deps: AppDeps, collectionName: string, id: string): Promise<void> {
  const collection = await getCollection(deps.db, collectionName);
  const deleted = await deleteDocuments(deps.db, collection, [id]);
  if (deleted.length === 0) throw new NotFoundError('document', id);
  deps.worker.notify();
}
