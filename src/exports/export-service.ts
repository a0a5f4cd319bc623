import type { CollectionRecord } from '../catalog/collections.js';
import { chunksByDocument, documentPage, freshChunkCounts, type DocumentRecord } from '../catalog/documents.js';
import type { Database } from '../db/client.js';
import { embeddedText } from '../ingest/ingest-documents.js';
import { matchesFilter } from '../vectors/filter-match.js';
import type { Condition, Filter, Payload } from '../vectors/vector-index.js';
import { yearOf } from '../outbox/index-points.js';
import { createExportWriter, type ExportFormat, type ExportRow } from './writers/export-row.js';

export interface ExportQuery {
  format: ExportFormat;
  /** One row per document (its `first` chunk, the eos1086 meaning, or the `mean` of its chunks), or per chunk. */
  rows: 'document' | 'chunk';
  pooling: 'first' | 'mean';
  filter?: Filter;
  labelField?: string;
}

const PAGE = 500;

/** The payload shape filters are written against: the same keys, and the same year, as index points. */
function filterView(doc: DocumentRecord): Payload {
  const year = yearOf(doc.metadata);
  return { document_id: doc.externalId, labels: doc.labels, metadata: doc.metadata as Payload, ...(year !== undefined ? { year } : {}) };
}

/** The export filter of the API's query parameters and the CLI's flags: any-of labels (comma-separated), a year range. */
export function exportFilter(opts: { labels?: string; yearGte?: number; yearLte?: number }): Filter | undefined {
  const must: Condition[] = [];
  const labels = opts.labels?.split(',').map((l) => l.trim()).filter(Boolean) ?? [];
  if (labels.length > 0) must.push({ key: 'labels', any: labels });
  if (opts.yearGte !== undefined || opts.yearLte !== undefined) must.push({ key: 'year', range: { gte: opts.yearGte, lte: opts.yearLte } });
  return must.length > 0 ? { must } : undefined;
}

function meanOf(vectors: Float32Array[]): Float32Array {
  const out = new Float32Array(vectors[0]!.length);
  const acc = new Float64Array(out.length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) acc[i]! += v[i]!;
  for (let i = 0; i < out.length; i++) out[i] = acc[i]! / vectors.length;
  return out;
}

/**
 * Rows of a collection in document id order, page by page (memory holds one page of
 * chunks), filtered by labels, year and metadata.
 */
export async function* exportRows(db: Database, collection: CollectionRecord, query: ExportQuery): AsyncGenerator<ExportRow> {
  for (let after = 0; ; ) {
    const page = (await documentPage(db, collection, after, PAGE));
    if (page.length === 0) return;
    after = page[page.length - 1]!.id;
    const kept = page.filter((d) => matchesFilter(filterView(d), query.filter));
    if (kept.length === 0) continue;
    const byDoc = await chunksByDocument(db, kept.map((d) => d.id), collection.version);
    for (const doc of kept) {
      const docChunks = byDoc.get(doc.id) ?? [];
      if (docChunks.length === 0) continue;
      const text = embeddedText(doc);
      const base = { labels: doc.labels, metadata: doc.metadata };
      if (query.rows === 'chunk') {
        for (const c of docChunks) yield { ...base, key: `${doc.externalId}#${c.chunkIndex}`, input: text.slice(c.startOffset, c.endOffset), chunk: c.chunkIndex, vector: c.vector };
      } else {
        yield { ...base, key: doc.externalId, input: text, vector: query.pooling === 'mean' ? meanOf(docChunks.map((c) => c.vector)) : docChunks[0]!.vector };
      }
    }
  }
}

/** How many rows exportRows() will give (NPY states the shape up front). */
export async function countExportRows(db: Database, collection: CollectionRecord, query: ExportQuery): Promise<number> {
  let n = 0;
  for (let after = 0; ; ) {
    const page = await documentPage(db, collection, after, PAGE);
    if (page.length === 0) return n;
    after = page[page.length - 1]!.id;
    // Fresh chunks of the collection's version, as exportRows reads them: after switching back
    // to an older version, a document changed since has none there until its catch-up.
    const kept = page.filter((doc) => matchesFilter(filterView(doc), query.filter));
    const counts = await freshChunkCounts(db, kept.map((d) => d.id), collection.version);
    for (const doc of kept) {
      const count = counts.get(doc.id) ?? 0;
      n += query.rows === 'chunk' ? count : count > 0 ? 1 : 0;
    }
  }
}

/**
 * Opens an export into `sink`: the writer is made (and its options checked, throwing
 * InvalidInputError) before any byte is sent; run() streams the rows and ends the sink.
 */
export function openExport(opts: { db: Database; collection: CollectionRecord; query: ExportQuery; sink: NodeJS.WritableStream; rows: number; onRow?: (n: number) => void }): { contentType: string; extension: string; run(): Promise<number> } {
  const writer = createExportWriter(opts.query.format, opts.sink, { dims: opts.collection.dims, rows: opts.rows, labelField: opts.query.labelField });
  return {
    contentType: writer.contentType,
    extension: writer.extension,
    async run() {
      let n = 0;
      for await (const row of exportRows(opts.db, opts.collection, opts.query)) {
        await writer.write(row);
        opts.onRow?.(++n);
      }
      await writer.end();
      return n;
    },
  };
}
