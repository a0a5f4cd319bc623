import type { DocumentInput } from '../../catalog/documents.js';

/**
 * One record of a bulk import: either a document ready to ingest or the reason it was
 * skipped. Bad records never stop an import; problems with the file as a whole (not the
 * format, truncated, invalid UTF-8, missing columns) throw `InvalidInputError` instead.
 */
export interface ParsedRecord {
  /**
   * 1-based position of the record: the line it starts on for NDJSON and CSV (counted
   * from the file's first line, header included), the article number for PubMed XML.
   */
  record: number;
  doc?: DocumentInput;
  /** Why this record was skipped; set exactly when `doc` is not. */
  error?: string;
}

/**
 * Which source fields feed a document. When a name is left out its default is used, and
 * the defaults for `id` and `text` also accept the common alternatives (see
 * `resolveFieldNames` in map-fields.ts): `_id` (BEIR/SciFact) for the id, and `abstract`
 * then `body` for the text. A name the caller sets is used alone, without fallbacks.
 */
export interface FieldMapping {
  /** Default `id`, then `_id`. */
  id: string;
  /**
   * `record`: the id is the record number (line for NDJSON and CSV), for data without ids
   * such as ChemProt; stable as long as the file is. Default `field`.
   */
  idFrom?: 'field' | 'record';
  /** Default `title`. */
  title?: string;
  /** Default `text`, then `abstract`, then `body`. */
  text: string;
  /** Default `labels`. */
  labels?: string;
  /** Fields copied into metadata; default: every field not used above. */
  metadata?: string[];
  /** CSV only: what separates labels inside the labels cell. Default `;`. */
  labelSeparator?: string;
}

/** Limits every parser applies to hostile or broken input (issue 10). */
export interface ParseOptions {
  /**
   * Longest record held in memory, in bytes (characters for XML and CSV fields); default
   * DEFAULT_MAX_LINE_BYTES (4 MiB). A longer NDJSON line or PubMed article becomes an error
   * record; a CSV record, or one XML text or tag, past it stops the file there.
   */
  maxRecordBytes?: number;
}
