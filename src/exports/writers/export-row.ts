import type { ExportWriterOptions } from './export-options.js';
import { CsvExportWriter } from './csv.js';
import { IdsExportWriter } from './ids.js';
import { JsonlExportWriter } from './jsonl.js';
import { NpyExportWriter } from './npy.js';
import { ParquetExportWriter } from './parquet.js';

/** One classification-ready row: a document (or one chunk of it), its labels and its vector. */
export interface ExportRow {
  /** Document external id, or `${id}#${chunk}` for a per-chunk export. */
  key: string;
  /** The embedded text: title + body, or the chunk's text. */
  input: string;
  labels: string[];
  metadata: Record<string, unknown>;
  /** Chunk number, set only by per-chunk exports. */
  chunk?: number;
  vector: Float32Array;
}

/**
 * A streaming encoder for one export format. Rows go out as they come, so memory stays flat;
 * each promise settles once the sink has room again (backpressure), so await every call.
 * After a rejection the sink may be left open: destroy it rather than end it, so that a
 * truncated export cannot pass for a complete one.
 */
export interface ExportWriter {
  /** Value for the HTTP `Content-Type` header. */
  readonly contentType: string;
  /** File name extension without the leading dot (`csv`, `ids.csv`, …). */
  readonly extension: string;
  /** Encodes one row; rejects if the sink failed or the row breaks the declared shape. */
  write(row: ExportRow): Promise<void>;
  /** Writes any trailer, ends the sink and resolves once the sink has finished. */
  end(): Promise<void>;
}

export type ExportFormat = 'csv' | 'jsonl' | 'npy' | 'ids' | 'parquet';

export type { ExportWriterOptions } from './export-options.js';

/**
 * Creates the writer for `format` on top of `sink`. The writer owns the sink from here on:
 * `end()` ends it, and a sink error rejects the next `write()`/`end()`.
 * Throws InvalidInputError when `labelField` is empty or collides with another column.
 */
export function createExportWriter(format: ExportFormat, sink: NodeJS.WritableStream, opts: ExportWriterOptions): ExportWriter {
  switch (format) {
    case 'csv':
      return new CsvExportWriter(sink, opts);
    case 'jsonl':
      return new JsonlExportWriter(sink, opts);
    case 'npy':
      return new NpyExportWriter(sink, opts);
    case 'ids':
      return new IdsExportWriter(sink, opts);
    case 'parquet':
      return new ParquetExportWriter(sink, opts);
    default: {
      // Routes validate the format with zod; reaching this means a caller skipped that.
      const unknown: never = format;
      throw new Error(`bug: unknown export format ${String(unknown)}`);
    }
  }
}
