import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.js';
import { CsvExportWriter } from './csv.js';
import { createExportWriter } from './export-row.js';
import { collectingSink, range, testRow, writeAll } from './test-support.js';

async function exportCsv(rows: number, dims: number, labelField?: string): Promise<string[][]> {
  const { sink, bytes } = collectingSink();
  const writer = new CsvExportWriter(sink, labelField === undefined ? { dims, rows } : { dims, rows, labelField });
  await writeAll(writer, range(rows).map((i) => testRow(i, dims)));
  return parse(bytes().toString('utf8')) as string[][];
}

describe('CsvExportWriter', () => {
  it('writes the Ersilia header key,input,dim_000..dim_767 with label last', async () => {
    const [header] = await exportCsv(1, 768);
    expect(header).toHaveLength(771);
    expect(header!.slice(0, 4)).toEqual(['key', 'input', 'dim_000', 'dim_001']);
    expect(header!.slice(-2)).toEqual(['dim_767', 'label']);
  });

  it('pads dim names to the digits of the last index, never fewer than 3', async () => {
    expect((await exportCsv(0, 4))[0]).toEqual(['key', 'input', 'dim_000', 'dim_001', 'dim_002', 'dim_003', 'label']);
    const [wide] = await exportCsv(0, 1001);
    expect(wide![2]).toBe('dim_0000');
    expect(wide![1002]).toBe('dim_1000');
  });

  it('round-trips keys, awkward text, labels and float32 values', async () => {
    const dims = 16;
    const [header, ...records] = await exportCsv(5, dims);
    expect(header).toHaveLength(dims + 3);
    expect(records).toHaveLength(5);
    records.forEach((record, i) => {
      const row = testRow(i, dims);
      expect(record[0]).toBe(row.key);
      expect(record[1]).toBe(row.input);
      expect(record[dims + 2]).toBe(row.labels.join(';'));
      const floats = record.slice(2, dims + 2).map((text) => Math.fround(Number(text)));
      expect(floats).toEqual(Array.from(row.vector));
    });
  });

  it('prints floats with the fewest digits that read back as the same float32', async () => {
    const { sink, bytes } = collectingSink();
    const writer = new CsvExportWriter(sink, { dims: 3, rows: 1 });
    await writeAll(writer, [{ key: 'k', input: 'x', labels: ['a', 'b'], metadata: {}, vector: new Float32Array([0.1, -2.5, 1e-8]) }]);
    expect(bytes().toString('utf8')).toBe('key,input,dim_000,dim_001,dim_002,label\nk,x,0.1,-2.5,1e-8,a;b\n');
  });

  it('names the label column after labelField and refuses a clashing one', async () => {
    expect((await exportCsv(0, 2, 'mesh'))[0]).toEqual(['key', 'input', 'dim_000', 'dim_001', 'mesh']);
    expect(() => createExportWriter('csv', collectingSink().sink, { dims: 2, rows: 0, labelField: 'dim_001' })).toThrow(InvalidInputError);
    expect(() => createExportWriter('csv', collectingSink().sink, { dims: 2, rows: 0, labelField: '' })).toThrow(InvalidInputError);
  });

  it('rejects a vector of the wrong length', async () => {
    const writer = new CsvExportWriter(collectingSink().sink, { dims: 4, rows: 1 });
    await expect(writer.write(testRow(0, 3))).rejects.toThrow(/bug: export declared 4 dims/);
  });
});
