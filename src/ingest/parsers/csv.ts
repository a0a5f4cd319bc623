import { Readable, pipeline } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { InvalidInputError } from '../../lib/errors.js';
import { DEFAULT_MAX_LINE_BYTES, readLines } from '../../lib/read-lines.js';
import { gunzipIfCompressed } from './gunzip-if-compressed.js';
import { mapFields, resolveFieldNames, type FieldNames } from './map-fields.js';
import type { FieldMapping, ParseOptions, ParsedRecord } from './parsed-record.js';

interface CsvRow {
  record: Record<string, string>;
  info: { lines: number };
  raw: string;
}

const DEFAULT_LABEL_SEPARATOR = ';';
// Lines are fed to csv-parse in batches of about this many characters: per-line writes cost
// a stream round trip each.
const BATCH_CHARS = 64 * 1024;

/**
 * Parses CSV with a header row (RFC 4180 quoting, fields may span lines; gzip detected by
 * magic bytes) into documents, holding about one record in memory. Each record is numbered
 * by the line it starts on. The labels cell is split on `labelSeparator`; other non-empty
 * cells go to metadata as strings, except a `year` column of four digits, which becomes a
 * number. A row with the wrong number of cells or broken quoting becomes an error record.
 * @throws InvalidInputError when the header lacks an id or text column (naming the columns
 * found), a line is not valid UTF-8, the gzip data is corrupt, or a line or record is longer
 * than `maxRecordBytes` (csv-parse cannot resynchronise after one, and a quote that never
 * closes would swallow the rest of the file), after every record before it.
 */
export async function* parseCsv(source: AsyncIterable<Uint8Array>, mapping: Partial<FieldMapping> = {}, opts: ParseOptions = {}): AsyncGenerator<ParsedRecord> {
  const names = resolveFieldNames(mapping);
  const maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_LINE_BYTES;
  const input: SourceState = { hasFailed: false, error: undefined };
  const separator = mapping.labelSeparator ?? DEFAULT_LABEL_SEPARATOR;
  // Skipped rows arrive through a callback, possibly before rows already buffered in the
  // stream; they are held here and released in line order.
  const skipped: ParsedRecord[] = [];
  const parser = parse({
    columns: (header: string[]) => checkHeader(header.map((h) => h.trim()), names),
    bom: true,
    info: true,
    raw: true,
    skip_empty_lines: true,
    // Strict column counts: a short or long row nearly always means a stray comma or quote,
    // and mapping its cells by position would silently shift fields. It is reported instead.
    skip_records_with_error: true,
    // Counted in characters; csv-parse stops reading (quietly) once a record passes it.
    max_record_size: maxRecordBytes,
    on_skip: (err, raw) => {
      const record = startLine(typeof err?.lines === 'number' ? err.lines : 0, raw ?? '');
      if (err?.code === 'CSV_MAX_RECORD_SIZE') {
        const detail = `the CSV record starting on line ${record} is longer than ${maxRecordBytes} characters (BIOVEC_MAX_RECORD_BYTES): a quote that never closes? The file cannot be read past it`;
        input.hasFailed = true;
        input.error = new InvalidInputError(detail, [{ pointer: `/lines/${record}`, detail: `longer than ${maxRecordBytes} characters` }]);
      }
      skipped.push({ record, error: describeCsvError(err) });
      return undefined;
    },
  });
  pipeline(Readable.from(batchLines(source, input, maxRecordBytes), { objectMode: false }), parser, () => {});
  for await (const row of parser as AsyncIterable<CsvRow>) {
    const line = startLine(row.info.lines, row.raw);
    while (skipped[0] !== undefined && skipped[0].record < line) yield skipped.shift() as ParsedRecord;
    yield { record: line, ...mapFields(toFields(row.record, names, separator), names, line) };
  }
  yield* skipped;
  if (input.hasFailed) throw input.error;
}

/** A source failure, held back until the parser has emitted every record before it. */
interface SourceState {
  hasFailed: boolean;
  error: unknown;
}

// readLines decodes strictly (bad UTF-8 names its line) and drops CRs; CRLF inside a quoted
// field therefore becomes LF. A failure ends the input cleanly instead of destroying the
// parser, which would drop the records it still buffers.
async function* batchLines(source: AsyncIterable<Uint8Array>, state: SourceState, maxLineBytes: number): AsyncGenerator<string> {
  let batch = '';
  try {
    for await (const line of readLines(gunzipIfCompressed(source), { maxLineBytes, onTooLong: 'yield' })) {
      if (state.hasFailed) break;
      if (line.isTooLong) {
        const detail = `line ${line.number} is longer than ${maxLineBytes} bytes (BIOVEC_MAX_RECORD_BYTES); the CSV cannot be read past it`;
        throw new InvalidInputError(detail, [{ pointer: `/lines/${line.number}`, detail: `longer than ${maxLineBytes} bytes` }]);
      }
      batch += `${line.text}\n`;
      if (batch.length >= BATCH_CHARS) {
        yield batch;
        batch = '';
      }
    }
  } catch (err) {
    state.hasFailed = true;
    state.error = err;
  }
  if (batch !== '') yield batch;
}

function checkHeader(header: string[], names: FieldNames): string[] {
  const missing = [
    names.idFromRecord || names.id.some((n) => header.includes(n)) ? undefined : `an id column (${names.id.join(' or ')})`,
    names.text.some((n) => header.includes(n)) ? undefined : `a text column (${names.text.join(' or ')})`,
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0) {
    const detail = `the CSV header lacks ${missing.join(' and ')}; columns found: ${header.join(', ') || '(none)'}`;
    throw new InvalidInputError(detail, [{ pointer: '/columns', detail }]);
  }
  return header;
}

function toFields(cells: Record<string, string>, names: FieldNames, separator: string): Record<string, unknown> {
  const fields: [string, unknown][] = [];
  for (const [name, cell] of Object.entries(cells)) {
    // CSV cannot tell empty from missing; an empty cell is treated as missing.
    if (cell === '') continue;
    if (name === names.labels) fields.push([name, cell.split(separator)]);
    else if (name.toLowerCase() === 'year' && /^\d{4}$/.test(cell.trim())) fields.push([name, Number(cell.trim())]);
    else fields.push([name, cell]);
  }
  return Object.fromEntries(fields);
}

/** csv-parse counts lines up to a record's end; the record starts that many line breaks earlier. */
function startLine(endLine: number, raw: string): number {
  const body = raw.replace(/^\n+/, '').replace(/\n$/, '');
  let breaks = 0;
  for (let i = body.indexOf('\n'); i !== -1; i = body.indexOf('\n', i + 1)) breaks += 1;
  return Math.max(1, endLine - breaks);
}

function describeCsvError(err: CsvError | undefined): string {
  return err ? `invalid CSV row: ${err.message}` : 'invalid CSV row';
}
