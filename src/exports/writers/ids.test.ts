import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { IdsExportWriter } from './ids.js';
import { collectingSink, range, testRow, writeAll } from './test-support.js';

describe('IdsExportWriter', () => {
  it('writes row,key,label in write order, row being the index into the .npy', async () => {
    const rows = range(7).map((i) => testRow(i, 4, i % 3));
    const { sink, bytes } = collectingSink();
    await writeAll(new IdsExportWriter(sink, { dims: 4, rows: rows.length }), rows);
    const [header, ...records] = parse(bytes().toString('utf8')) as string[][];
    expect(header).toEqual(['row', 'key', 'label']);
    expect(records).toEqual(rows.map((row, i) => [String(i), row.key, row.labels.join(';')]));
  });

  it('takes the label column name from labelField', async () => {
    const { sink, bytes } = collectingSink();
    await writeAll(new IdsExportWriter(sink, { dims: 4, rows: 0, labelField: 'class' }), []);
    expect(bytes().toString('utf8')).toBe('row,key,class\n');
  });
});
