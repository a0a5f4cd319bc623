import { describe, expect, it } from 'vitest';
import { JsonlExportWriter } from './jsonl.js';
import { collectingSink, range, testRow, writeAll } from './test-support.js';

describe('JsonlExportWriter', () => {
  it('round-trips every field, one object per line, chunk only when set', async () => {
    const dims = 32;
    const rows = [testRow(0, dims), testRow(1, dims, 0), testRow(2, dims, 3)];
    const { sink, bytes } = collectingSink();
    await writeAll(new JsonlExportWriter(sink, { dims, rows: rows.length }), rows);
    const text = bytes().toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    lines.forEach((line, i) => {
      const row = rows[i]!;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(parsed)).toEqual(
        row.chunk === undefined ? ['key', 'input', 'labels', 'metadata', 'vector'] : ['key', 'input', 'labels', 'metadata', 'chunk', 'vector'],
      );
      expect(parsed).toMatchObject({ key: row.key, input: row.input, labels: row.labels, metadata: row.metadata });
      expect(parsed['chunk']).toBe(row.chunk);
      expect((parsed['vector'] as number[]).map(Math.fround)).toEqual(Array.from(row.vector));
    });
  });

  it('writes the shortest float32 digits, not float64 widening', async () => {
    const { sink, bytes } = collectingSink();
    await writeAll(new JsonlExportWriter(sink, { dims: 2, rows: 1 }), [
      { key: 'k', input: '', labels: [], metadata: {}, vector: new Float32Array([0.1, -0.3]) },
    ]);
    expect(bytes().toString('utf8')).toBe('{"key":"k","input":"","labels":[],"metadata":{},"vector":[0.1,-0.3]}\n');
  });

  it('refuses NaN, which JSON cannot carry', async () => {
    const writer = new JsonlExportWriter(collectingSink().sink, { dims: 2, rows: 1 });
    const vector = new Float32Array([0, Number.NaN]);
    await expect(writer.write({ key: 'k', input: '', labels: [], metadata: {}, vector })).rejects.toThrow(/bug: non-finite/);
  });

  it('writes nothing for an empty export', async () => {
    const { sink, bytes } = collectingSink();
    await writeAll(new JsonlExportWriter(sink, { dims: 2, rows: 0 }), range(0).map((i) => testRow(i, 2)));
    expect(bytes().length).toBe(0);
  });
});
