import { describe, expect, it } from 'vitest';
import { NpyExportWriter, npyHeader } from './npy.js';
import { collectingSink, range, testRow, writeAll } from './test-support.js';

interface ParsedNpy {
  major: number;
  minor: number;
  dict: string;
  dataOffset: number;
}

function parseNpy(file: Buffer): ParsedNpy {
  const headerLength = file.readUInt16LE(8);
  return {
    major: file[6]!,
    minor: file[7]!,
    dict: file.subarray(10, 10 + headerLength).toString('latin1'),
    dataOffset: 10 + headerLength,
  };
}

describe('NpyExportWriter', () => {
  it('writes a v1.0 header, 64-byte aligned, that states descr and shape', async () => {
    const dims = 24;
    const rows = range(5).map((i) => testRow(i, dims));
    const { sink, bytes } = collectingSink();
    await writeAll(new NpyExportWriter(sink, { dims, rows: rows.length }), rows);
    const file = bytes();
    expect(file.subarray(0, 6)).toEqual(Buffer.from([0x93, ...Buffer.from('NUMPY')]));
    const npy = parseNpy(file);
    expect([npy.major, npy.minor]).toEqual([1, 0]);
    expect(npy.dataOffset % 64).toBe(0);
    expect(npy.dict.endsWith('\n')).toBe(true);
    expect(npy.dict.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 24), }");
    expect(file.length - npy.dataOffset).toBe(5 * 24 * 4);
    const expected = Buffer.concat(rows.map((row) => Buffer.from(row.vector.buffer)));
    expect(file.subarray(npy.dataOffset)).toEqual(expected);
  });

  it('matches the header np.save writes (numpy 2.4: growth room for the row count)', () => {
    // Bytes taken from numpy 2.4.6 `format.write_array_header_1_0` for shape (3, 768).
    const header = npyHeader(3, 768);
    expect(header.length).toBe(128);
    expect(header.readUInt16LE(8)).toBe(118);
    const big = npyHeader(123_456_789, 768);
    expect(big.length).toBe(128);
    expect(big.subarray(10).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(123456789, 768\), \} +\n$/);
  });

  it('keeps the 64-byte alignment for every header length', () => {
    for (const rows of [0, 1, 9, 10, 99_999, 2 ** 40]) {
      for (const dims of [1, 8, 768, 4096]) {
        const header = npyHeader(rows, dims);
        expect(header.length % 64).toBe(0);
        expect(header[header.length - 1]).toBe(0x0a);
        expect(header.readUInt16LE(8)).toBe(header.length - 10);
      }
    }
  });

  it('writes a valid empty (0, D) array', async () => {
    const { sink, bytes } = collectingSink();
    await writeAll(new NpyExportWriter(sink, { dims: 8, rows: 0 }), []);
    const npy = parseNpy(bytes());
    expect(npy.dict).toContain("'shape': (0, 8)");
    expect(bytes().length).toBe(npy.dataOffset);
  });

  it('throws when more rows come than the header declared', async () => {
    const writer = new NpyExportWriter(collectingSink().sink, { dims: 4, rows: 2 });
    await writer.write(testRow(0, 4));
    await writer.write(testRow(1, 4));
    await expect(writer.write(testRow(2, 4))).rejects.toThrow(/bug: npy export declared 2 rows/);
  });

  it('throws on end() when fewer rows came than declared', async () => {
    const writer = new NpyExportWriter(collectingSink().sink, { dims: 4, rows: 3 });
    await writer.write(testRow(0, 4));
    await expect(writer.end()).rejects.toThrow(/declared 3 rows in its header but got 1/);
  });

  it('rejects a vector of the wrong length before counting it', async () => {
    const writer = new NpyExportWriter(collectingSink().sink, { dims: 4, rows: 1 });
    await expect(writer.write(testRow(0, 5))).rejects.toThrow(/bug: export declared 4 dims/);
  });
});
