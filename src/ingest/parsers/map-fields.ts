import type { DocumentInput } from '../../catalog/documents.js';
import type { FieldMapping } from './parsed-record.js';

/** Candidate source field names per document field, in priority order. */
export interface FieldNames {
  id: readonly string[];
  idFromRecord: boolean;
  title: string;
  text: readonly string[];
  labels: string;
  /** Undefined: the `metadata` object plus every other field not used for id, title, text or labels. */
  metadata: readonly string[] | undefined;
}

export type MappedRecord = { doc: DocumentInput; error?: undefined } | { doc?: undefined; error: string };

// validateDocuments() rejects a whole batch over one long id; catching it per record here
// keeps the rest of the batch.
const MAX_ID_LENGTH = 512;
/** The field holding a record's metadata object, as in POST …/documents. */
const METADATA_FIELD = 'metadata';

/** Applies defaults and fallbacks to a caller's partial mapping. */
export function resolveFieldNames(mapping: Partial<FieldMapping> = {}): FieldNames {
  return {
    id: mapping.id ? [mapping.id] : ['id', '_id'],
    idFromRecord: mapping.idFrom === 'record',
    title: mapping.title ?? 'title',
    text: mapping.text ? [mapping.text] : ['text', 'abstract', 'body'],
    labels: mapping.labels ?? 'labels',
    metadata: mapping.metadata,
  };
}

/** A field counts as present unless it is absent, undefined or null. */
export function hasValue(fields: Record<string, unknown>, name: string): boolean {
  return Object.hasOwn(fields, name) && fields[name] !== undefined && fields[name] !== null;
}

/**
 * Maps one record's fields (JSON values; CSV cells with labels already split) to a
 * document, or says why it cannot be one. Numbers are accepted for id, title and text.
 */
export function mapFields(fields: Record<string, unknown>, names: FieldNames, record: number): MappedRecord {
  const idKey = names.idFromRecord ? undefined : names.id.find((n) => hasValue(fields, n));
  const textKey = names.text.find((n) => hasValue(fields, n));
  if (idKey === undefined && !names.idFromRecord) return { error: `missing id (field ${quoteAll(names.id)})` };
  if (textKey === undefined) return { error: `missing text (field ${quoteAll(names.text)})` };
  const externalId = idKey === undefined ? String(record) : scalarText(fields[idKey])?.trim();
  if (!externalId) return { error: `id must be a non-empty string or a number` };
  if (externalId.length > MAX_ID_LENGTH) return { error: `id is longer than ${MAX_ID_LENGTH} characters` };
  const body = scalarText(fields[textKey]);
  if (body === undefined) return { error: `"${textKey}" must be a string` };
  const rawTitle = hasValue(fields, names.title) ? scalarText(fields[names.title]) : null;
  if (rawTitle === undefined) return { error: `"${names.title}" must be a string` };
  const title = rawTitle?.trim() ? rawTitle : null;
  if (title === null && body.trim() === '') return { error: 'has neither title nor text' };
  if (!externalId.isWellFormed() || !body.isWellFormed() || !(title ?? '').isWellFormed()) {
    return { error: 'id, title or text is not valid Unicode (lone surrogate)' };
  }
  const labels = readLabels(fields[names.labels]);
  if (labels === 'invalid') return { error: `"${names.labels}" must be a string or an array of strings` };
  const used = new Set([idKey, textKey, names.title, names.labels, METADATA_FIELD].filter((n) => n !== undefined));
  const metadata = pickMetadata(fields, names.metadata, used);
  if (metadata === undefined) return { error: `"${METADATA_FIELD}" must be a JSON object` };
  const doc: DocumentInput = { externalId, title, body, metadata };
  if (labels) doc.labels = labels;
  return { doc };
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function readLabels(value: unknown): string[] | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? value : [value];
  const labels: string[] = [];
  for (const item of items) {
    const text = scalarText(item)?.trim();
    if (text === undefined) return 'invalid';
    if (text !== '') labels.push(text);
  }
  return labels;
}

/**
 * The record's `metadata` object is the document's metadata, as in POST …/documents (issue
 * 10: it used to land in metadata.metadata, out of reach of filters); the record's other
 * unused fields join it (flat files such as CSV have no nesting), the nested object winning
 * a name both have. Undefined when `metadata` is present but neither an object nor `[]`.
 */
function pickMetadata(fields: Record<string, unknown>, wanted: readonly string[] | undefined, used: Set<string>): Record<string, unknown> | undefined {
  let nested = hasValue(fields, METADATA_FIELD) ? fields[METADATA_FIELD] : {};
  // Files written by other tools often hold an empty list where they mean "no metadata"
  // (ChemProt's own release does); only a non-empty list or a scalar is an error.
  if (Array.isArray(nested) && nested.length === 0) nested = {};
  if (typeof nested !== 'object' || nested === null || Array.isArray(nested)) return undefined;
  const topLevel = Object.entries(fields).filter(([k, v]) => !used.has(k) && v !== undefined);
  // fromEntries defines own properties, so a "__proto__" field stays data, not a prototype.
  const merged = Object.fromEntries([...topLevel, ...Object.entries(nested)]);
  if (wanted === undefined) return merged;
  return Object.fromEntries(wanted.filter((k) => Object.hasOwn(merged, k) && merged[k] !== undefined).map((k) => [k, merged[k]]));
}

function quoteAll(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(' or ');
}
