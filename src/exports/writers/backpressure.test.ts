import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createExportWriter, type ExportFormat } from './export-row.js';
import { collectingSink, range, slowSink, testRow, writeAll } from './test-support.js';

const FORMATS: ExportFormat[] = ['csv', 'jsonl', 'npy', 'ids', 'parquet'];

describe('export writers under backpressure', () => {
  it.each(FORMATS)('%s: a slow sink gets every row, in order, without a growing queue', async (format) => {
    const dims = 64;
    const rows = range(3500).map((i) => testRow(i, dims, i % 4));
    const opts = { dims, rows: rows.length };

    const fast = collectingSink();
    await writeAll(createExportWriter(format, fast.sink, opts), rows);
    const total = fast.bytes().length;

    const slow = slowSink();
    const writer = createExportWriter(format, slow.sink, opts);
    let maxLagBytes = 0;
    for (const [i, row] of rows.entries()) {
      await writer.write(row);
      // Rows are about the same size, so bytes produced so far ≈ total × rows written / rows.
      maxLagBytes = Math.max(maxLagBytes, (total * (i + 1)) / rows.length - slow.received());
    }
    await writer.end();

    expect(slow.bytes().equals(fast.bytes())).toBe(true);
    // Honouring 'drain' keeps about one coalesced chunk (64 KiB, or one Parquet row group of
    // ~270 KB here) in flight; ignoring it lets the writer run ahead by the whole export.
    const bound = Math.min(format === 'parquet' ? 400_000 : 100_000, total / 2);
    expect(slow.maxQueuedBytes()).toBeLessThanOrEqual(bound);
    expect(maxLagBytes).toBeLessThanOrEqual(bound);
  });

  it('emits the rows in write order under backpressure (keys read back in order)', async () => {
    const rows = range(800).map((i) => testRow(i, 8));
    const slow = slowSink();
    await writeAll(createExportWriter('jsonl', slow.sink, { dims: 8, rows: rows.length }), rows);
    const keys = slow
      .bytes()
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { key: string }).key);
    expect(keys).toEqual(rows.map((row) => row.key));
  });
});

describe('export writers when the sink fails', () => {
  function failingSink(): Writable {
    return new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        setImmediate(() => callback(new Error('client went away')));
      },
    });
  }

  it.each(FORMATS)('%s: rejects instead of hanging or crashing', async (format) => {
    const writer = createExportWriter(format, failingSink(), { dims: 256, rows: 2000 });
    const run = async (): Promise<void> => {
      for (let i = 0; i < 2000; i++) await writer.write(testRow(i, 256));
      await writer.end();
    };
    await expect(run()).rejects.toThrow();
  });
});

describe('createExportWriter', () => {
  it.each([
    ['csv', 'text/csv; charset=utf-8', 'csv'],
    ['jsonl', 'application/x-ndjson', 'jsonl'],
    ['npy', 'application/octet-stream', 'npy'],
    ['ids', 'text/csv; charset=utf-8', 'ids.csv'],
    ['parquet', 'application/vnd.apache.parquet', 'parquet'],
  ] as const)('%s → %s, .%s', (format, contentType, extension) => {
    const writer = createExportWriter(format, collectingSink().sink, { dims: 4, rows: 0 });
    expect(writer.contentType).toBe(contentType);
    expect(writer.extension).toBe(extension);
  });
});
