// Library choice (checked with `npm view`): hyparquet-writer 0.17.0 is pure JS, MIT, with one
// dependency (hyparquet, the same authors' reader) and no install script. Its ParquetWriter
// writes row groups incrementally and awaits an async `flush()` after each one, so a Node
// sink's backpressure reaches the encoder. Passed over: @dsnp/parquetjs (streams, but its
// current releases need Node >= 24.18 and pull in @aws-sdk/client-s3), parquetjs-lite (streams,
// but ships no TypeScript types), parquet-wasm (a wasm binary fed Arrow record batches, so
// apache-arrow as well).
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ExportRow, ExportWriter } from './export-row.js';
import { assertDims, joinLabels, resolveLabelColumn, type ExportWriterOptions } from './export-options.js';
import { SinkWriter } from './sink-writer.js';

/** Rows per row group: about 3 MiB of 768-d floats, the unit of memory and of flushing. */
export const PARQUET_ROW_GROUP_ROWS = 1024;

/** A ByteWriter whose bytes leave for the sink after every row group, so it never grows past one. */
class SinkByteWriter extends ByteWriter {
  constructor(private readonly out: SinkWriter) {
    super(1 << 20);
  }

  async flush(): Promise<void> {
    // getBytes() is a view on a buffer that is reused from index 0; SinkWriter copies it.
    const bytes = this.getBytes();
    if (bytes.length === 0) return;
    this.index = 0;
    await this.out.write(bytes);
  }

  override async finish(): Promise<void> {
    await this.flush();
  }
}

/**
 * Parquet with columns key, input, label (UTF8), chunk (INT32, null for per-document rows)
 * and vector as a standard 3-level LIST of FLOAT, which pyarrow and pandas read as a list
 * column (`np.stack(df.vector)` gives the matrix).
 */
export class ParquetExportWriter implements ExportWriter {
  readonly contentType = 'application/vnd.apache.parquet';
  readonly extension = 'parquet';
  private readonly out: SinkWriter;
  private readonly writer: ParquetWriter;
  private readonly dims: number;
  private readonly labelColumn: string;
  private keys: string[] = [];
  private inputs: string[] = [];
  private labels: string[] = [];
  private chunks: (number | null)[] = [];
  private vectors: number[][] = [];

  constructor(sink: NodeJS.WritableStream, opts: ExportWriterOptions) {
    this.dims = opts.dims;
    this.labelColumn = resolveLabelColumn(opts, ['key', 'input', 'chunk', 'vector']);
    this.out = new SinkWriter(sink);
    this.writer = new ParquetWriter({
      writer: new SinkByteWriter(this.out),
      schema: [
        { name: 'root', num_children: 5 },
        { name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'input', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: this.labelColumn, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'chunk', type: 'INT32', repetition_type: 'OPTIONAL' },
        { name: 'vector', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
      ],
      createdBy: 'biovec',
    });
  }

  async write(row: ExportRow): Promise<void> {
    assertDims(row.vector, this.dims);
    this.keys.push(row.key);
    this.inputs.push(row.input);
    this.labels.push(joinLabels(row.labels));
    this.chunks.push(row.chunk ?? null);
    // The LIST encoder walks plain arrays only (Array.isArray), not typed arrays.
    this.vectors.push(Array.from(row.vector));
    if (this.keys.length >= PARQUET_ROW_GROUP_ROWS) await this.writeRowGroup();
  }

  async end(): Promise<void> {
    await this.writeRowGroup();
    await this.writer.finish();
    await this.out.end();
  }

  private async writeRowGroup(): Promise<void> {
    const rows = this.keys.length;
    if (rows === 0) return;
    const columnData = [
      { name: 'key', data: this.keys },
      { name: 'input', data: this.inputs },
      { name: this.labelColumn, data: this.labels },
      { name: 'chunk', data: this.chunks },
      // Embedding floats rarely repeat, and a row group's min/max over all dims tells no one
      // anything: skip the dictionary attempt and the statistics pass.
      { name: 'vector', data: this.vectors, encoding: 'PLAIN' as const, statistics: false },
    ];
    this.keys = [];
    this.inputs = [];
    this.labels = [];
    this.chunks = [];
    this.vectors = [];
    await this.writer.write({ columnData, rowGroupSize: rows });
  }
}
