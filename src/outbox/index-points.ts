import type { CollectionRecord } from '../catalog/collections.js';
import type { ChunkRow, DocumentRecord } from '../catalog/documents.js';
import { embeddedText } from '../ingest/ingest-documents.js';
import { termVector } from '../lexical/term-vector.js';
import { pointId } from '../vectors/point-id.js';
import type { CollectionSpec, Distance, Payload, PayloadValue, VectorPoint } from '../vectors/vector-index.js';

/** Payload fields every index collection indexes: what search filters use. */
export const PAYLOAD_INDEXES: CollectionSpec['payloadIndexes'] = [
  { field: 'document_id', type: 'keyword' },
  { field: 'chunk_index', type: 'integer' },
  { field: 'labels', type: 'keyword' },
  { field: 'year', type: 'integer' },
];

export function indexSpecFor(collection: CollectionRecord, indexName = collection.indexName): CollectionSpec {
  return { name: indexName, dims: collection.dims, distance: collection.distance as Distance, payloadIndexes: PAYLOAD_INDEXES, lexical: true };
}

/** A year to filter on, from the usual metadata spellings (`year`, `pub_year`, ISO `date`). */
export function yearOf(metadata: Record<string, unknown>): number | undefined {
  for (const key of ['year', 'pub_year', 'publication_year']) {
    const v = metadata[key];
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^\d{4}$/.test(v)) return Number(v);
  }
  const date = metadata.date;
  if (typeof date === 'string' && /^\d{4}/.test(date)) return Number(date.slice(0, 4));
  return undefined;
}

/**
 * The index points of one document, derived wholly from the catalog row, so applying them
 * twice, or after a later change, gives the same index state.
 */
export function pointsFor(collection: CollectionRecord, doc: DocumentRecord, rows: ChunkRow[]): VectorPoint[] {
  const year = yearOf(doc.metadata);
  const text = embeddedText(doc);
  return rows.map((c) => {
    const payload: Payload = {
      document_id: doc.externalId,
      chunk_index: c.chunkIndex,
      start: c.startOffset,
      end: c.endOffset,
      labels: doc.labels,
      metadata: doc.metadata as Record<string, PayloadValue>,
    };
    if (year !== undefined) payload.year = year;
    // Terms come from the chunk's span of the stored text, so they can be rebuilt from the catalog without the model.
    return { id: pointId(collection.name, doc.externalId, c.chunkIndex), vector: c.vector, payload, terms: termVector(text.slice(c.startOffset, c.endOffset)) };
  });
}
