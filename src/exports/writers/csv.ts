import { formatFloat32 } from '../../lib/float-format.js';
import { CsvRecordWriter } from './csv-record-writer.js';
import type { ExportRow, ExportWriter } from './export-row.js';
import { assertDims, dimColumns, joinLabels, resolveLabelColumn, type ExportWriterOptions } from './export-options.js';

/**
 * CSV in the Ersilia Model Hub layout of eos1086, `key,input,dim_000..dim_767`, plus the
 * labels as a last column: Ersilia readers that take columns by position keep working.
 * Floats are the shortest text that reads back as the same float32.
 */
export class CsvExportWriter implements ExportWriter {
  readonly contentType = 'text/csv; charset=utf-8';
  readonly extension = 'csv';
  private readonly out: CsvRecordWriter;
  private readonly dims: number;
  private readonly header: string[];
  private hasHeader = false;

  constructor(sink: NodeJS.WritableStream, opts: ExportWriterOptions) {
    const columns = ['key', 'input', ...dimColumns(opts.dims)];
    this.header = [...columns, resolveLabelColumn(opts, columns)];
    this.dims = opts.dims;
    this.out = new CsvRecordWriter(sink);
  }

  async write(row: ExportRow): Promise<void> {
    assertDims(row.vector, this.dims);
    await this.writeHeaderOnce();
    const fields = new Array<string>(this.dims + 3);
    fields[0] = row.key;
    fields[1] = row.input;
    for (let i = 0; i < this.dims; i++) fields[i + 2] = formatFloat32(row.vector[i]!);
    fields[this.dims + 2] = joinLabels(row.labels);
    await this.out.write(fields);
  }

  async end(): Promise<void> {
    await this.writeHeaderOnce();
    await this.out.end();
  }

  private async writeHeaderOnce(): Promise<void> {
    if (this.hasHeader) return;
    this.hasHeader = true;
    await this.out.write(this.header);
  }
}
