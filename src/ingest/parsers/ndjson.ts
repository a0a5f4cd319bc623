import { DEFAULT_MAX_LINE_BYTES, readLines } from '../../lib/read-lines.js';
import { gunzipIfCompressed } from './gunzip-if-compressed.js';
import { mapFields, resolveFieldNames, type FieldNames, type MappedRecord } from './map-fields.js';
import type { FieldMapping, ParseOptions, ParsedRecord } from './parsed-record.js';

/**
 * Parses NDJSON (one JSON object per line; gzip detected by magic bytes) into documents,
 * holding one line in memory. Blank lines are skipped; a line that is not a JSON object,
 * lacks an id or text, or is longer than `maxRecordBytes` becomes an error record numbered by
 * its line (the bytes of a long line are dropped unread, so memory stays bounded).
 * @throws InvalidInputError when a line is not valid UTF-8 or the gzip data is corrupt:
 * the line splitter cannot resync after bad bytes, so the import stops there, after every
 * earlier record has been yielded.
 */
export async function* parseNdjson(source: AsyncIterable<Uint8Array>, mapping: Partial<FieldMapping> = {}, opts: ParseOptions = {}): AsyncGenerator<ParsedRecord> {
  const names = resolveFieldNames(mapping);
  const maxLineBytes = opts.maxRecordBytes ?? DEFAULT_MAX_LINE_BYTES;
  for await (const line of readLines(gunzipIfCompressed(source), { maxLineBytes, onTooLong: 'yield' })) {
    if (line.isTooLong) {
      yield { record: line.number, error: `the line is longer than ${maxLineBytes} bytes (BIOVEC_MAX_RECORD_BYTES); skipped unread` };
      continue;
    }
    if (line.text.trim() === '') continue;
    yield { record: line.number, ...parseLine(line.text, names, line.number) };
  }
}

function parseLine(text: string, names: FieldNames, record: number): MappedRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}` };
  }
  return mapFields(value as Record<string, unknown>, names, record);
}
