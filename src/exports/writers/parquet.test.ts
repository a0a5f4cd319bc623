import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import type { ExportRow } from './export-row.js';
import { PARQUET_ROW_GROUP_ROWS, ParquetExportWriter } from './parquet.js';
import { collectingSink, range, testRow, writeAll } from './test-support.js';

async function exportParquet(rows: ExportRow[], dims: number, labelField?: string): Promise<ArrayBuffer> {
  const { sink, bytes } = collectingSink();
  const opts = labelField === undefined ? { dims, rows: rows.length } : { dims, rows: rows.length, labelField };
  await writeAll(new ParquetExportWriter(sink, opts), rows);
  const file = bytes();
  return file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
}

describe('ParquetExportWriter', () => {
  it('round-trips key, input, label, chunk and vector through hyparquet', async () => {
    const dims = 16;
    const rows = [testRow(0, dims), testRow(1, dims, 0), testRow(2, dims, 7)];
    const file = await exportParquet(rows, dims);
    const read = await parquetReadObjects({ file });
    expect(read).toHaveLength(3);
    read.forEach((record, i) => {
      const row = rows[i]!;
      expect(record['key']).toBe(row.key);
      expect(record['input']).toBe(row.input);
      expect(record['label']).toBe(row.labels.join(';'));
      expect(record['chunk'] ?? undefined).toBe(row.chunk);
      expect(Array.from(record['vector'] as number[])).toEqual(Array.from(row.vector));
    });
  });

  it('declares vector as a 3-level LIST of FLOAT, which pyarrow reads as list<float>', async () => {
    const metadata = parquetMetadata(await exportParquet([testRow(0, 4)], 4, 'mesh'));
    const names = metadata.schema.map((element) => element.name);
    expect(names).toEqual(['root', 'key', 'input', 'mesh', 'chunk', 'vector', 'list', 'element']);
    const vector = metadata.schema[5]!;
    expect(vector.converted_type).toBe('LIST');
    expect(metadata.schema[6]!.repetition_type).toBe('REPEATED');
    expect(metadata.schema[7]!.type).toBe('FLOAT');
  });

  it('flushes a row group every PARQUET_ROW_GROUP_ROWS rows and keeps their order', async () => {
    const dims = 8;
    const count = PARQUET_ROW_GROUP_ROWS * 2 + 5;
    const rows = range(count).map((i) => testRow(i, dims));
    const file = await exportParquet(rows, dims);
    const metadata = parquetMetadata(file);
    expect(metadata.row_groups.map((group) => Number(group.num_rows))).toEqual([PARQUET_ROW_GROUP_ROWS, PARQUET_ROW_GROUP_ROWS, 5]);
    const read = await parquetReadObjects({ file, columns: ['key', 'vector'] });
    expect(read.map((record) => record['key'])).toEqual(rows.map((row) => row.key));
    expect(Array.from(read[count - 1]!['vector'] as number[])).toEqual(Array.from(rows[count - 1]!.vector));
  });

  it('writes a readable file with no rows', async () => {
    const file = await exportParquet([], 4);
    expect(Number(parquetMetadata(file).num_rows)).toBe(0);
    expect(await parquetReadObjects({ file })).toEqual([]);
  });

  it('rejects a vector of the wrong length', async () => {
    const writer = new ParquetExportWriter(collectingSink().sink, { dims: 4, rows: 1 });
    await expect(writer.write(testRow(0, 2))).rejects.toThrow(/bug: export declared 4 dims/);
  });
});
