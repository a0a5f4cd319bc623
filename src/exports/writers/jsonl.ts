import { formatFloat32 } from '../../lib/float-format.js';
import type { ExportRow, ExportWriter } from './export-row.js';
import { assertDims, type ExportWriterOptions } from './export-options.js';
import { SinkWriter } from './sink-writer.js';

/**
 * JSON Lines, one object per row: `{"key","input","labels","metadata","chunk"?,"vector"}`.
 * The vector text is built by hand with the shortest float32 digits; JSON.stringify would
 * print each float32 widened to float64 (0.10000000149011612), doubling the size.
 */
export class JsonlExportWriter implements ExportWriter {
  readonly contentType = 'application/x-ndjson';
  readonly extension = 'jsonl';
  private readonly out: SinkWriter;
  private readonly dims: number;

  constructor(sink: NodeJS.WritableStream, opts: ExportWriterOptions) {
    this.out = new SinkWriter(sink);
    this.dims = opts.dims;
  }

  async write(row: ExportRow): Promise<void> {
    assertDims(row.vector, this.dims);
    const head = JSON.stringify(
      row.chunk === undefined
        ? { key: row.key, input: row.input, labels: row.labels, metadata: row.metadata }
        : { key: row.key, input: row.input, labels: row.labels, metadata: row.metadata, chunk: row.chunk },
    );
    await this.out.write(`${head.slice(0, -1)},"vector":[${formatVector(row.vector)}]}\n`);
  }

  async end(): Promise<void> {
    await this.out.end();
  }
}

function formatVector(vector: Float32Array): string {
  const parts = new Array<string>(vector.length);
  for (let i = 0; i < vector.length; i++) {
    const value = vector[i]!;
    // JSON has no NaN or Infinity; a non-finite embedding is a model bug, not data to ship.
    if (!Number.isFinite(value)) throw new Error(`bug: non-finite value ${value} at vector[${i}]`);
    parts[i] = formatFloat32(value);
  }
  return parts.join(',');
}
