import { CsvRecordWriter } from './csv-record-writer.js';
import type { ExportRow, ExportWriter } from './export-row.js';
import { joinLabels, resolveLabelColumn, type ExportWriterOptions } from './export-options.js';

/**
 * The NPY sidecar, CSV `row,key,label`: `row` is the 0-based index into the .npy written
 * from the same rows in the same order, so `np.load('v.npy')` and
 * `pd.read_csv('v.ids.csv')` line up. Vectors are ignored here.
 */
export class IdsExportWriter implements ExportWriter {
  readonly contentType = 'text/csv; charset=utf-8';
  readonly extension = 'ids.csv';
  private readonly out: CsvRecordWriter;
  private readonly header: string[];
  private written = 0;

  constructor(sink: NodeJS.WritableStream, opts: ExportWriterOptions) {
    const columns = ['row', 'key'];
    this.header = [...columns, resolveLabelColumn(opts, columns)];
    this.out = new CsvRecordWriter(sink);
  }

  async write(row: ExportRow): Promise<void> {
    if (this.written === 0) await this.out.write(this.header);
    const index = this.written++;
    await this.out.write([String(index), row.key, joinLabels(row.labels)]);
  }

  async end(): Promise<void> {
    if (this.written === 0) await this.out.write(this.header);
    await this.out.end();
  }
}
