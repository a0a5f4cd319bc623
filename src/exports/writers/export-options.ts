import { InvalidInputError } from '../../lib/errors.js';

export interface ExportWriterOptions {
  /** Vector length; every row must match it. */
  dims: number;
  /** Rows the export will hold, known before the first write: NPY's header states the shape. */
  rows: number;
  /** Name of the labels column in CSV, ids and Parquet (default `label`); JSONL keeps `labels`. */
  labelField?: string;
}

/** The labels column name, refused when it would shadow another column of the format. */
export function resolveLabelColumn(opts: ExportWriterOptions, otherColumns: readonly string[]): string {
  const name = opts.labelField ?? 'label';
  if (name.length === 0 || otherColumns.includes(name)) {
    throw new InvalidInputError(`label field "${name}" is empty or clashes with a column of the export (${otherColumns.join(', ')})`, [
      { pointer: '/labelField', detail: 'must be non-empty and differ from the other column names' },
    ]);
  }
  return name;
}

/** Labels in one text cell, `;`-joined: MeSH headings hold commas ("Carcinoma, Squamous Cell"). */
export function joinLabels(labels: readonly string[]): string {
  return labels.join(';');
}

/** A vector of the wrong length would shift or corrupt every column after it: the caller's bug. */
export function assertDims(vector: Float32Array, dims: number): void {
  if (vector.length !== dims) {
    throw new Error(`bug: export declared ${dims} dims but got a vector of ${vector.length}`);
  }
}

/** Ersilia's column names: `dim_000`, zero-padded to at least 3 digits (`dim_0000` from 1001 dims). */
export function dimColumns(dims: number): string[] {
  const width = Math.max(3, String(Math.max(0, dims - 1)).length);
  return Array.from({ length: dims }, (_, i) => `dim_${String(i).padStart(width, '0')}`);
}
