import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createExportWriter, type ExportFormat } from './export-row.js';

// A forced GC makes "retained" measurable; without it the numbers are mostly young garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const DIMS = 768;
const LIMIT_BYTES = 60 * 1024 * 1024;

/** heapUsed plus Buffer memory: chunks held by a leaking writer live outside the JS heap. */
function retainedBytes(): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * Streams `rows` generated rows into a sink that drops the bytes; returns the largest growth
 * in retained memory seen (sampled ten times) and the bytes produced.
 */
async function measureExport(format: ExportFormat, rows: number): Promise<{ growth: number; bytes: number }> {
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback();
    },
  });
  const vector = new Float32Array(DIMS);
  let state = 0x9e3779b9;
  const baseline = retainedBytes();
  let growth = 0;
  const writer = createExportWriter(format, sink, { dims: DIMS, rows });
  for (let i = 0; i < rows; i++) {
    // xorshift32: incompressible floats, so Parquet's output is as large as real embeddings'.
    for (let d = 0; d < DIMS; d++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      vector[d] = (state >>> 0) / 2 ** 32 - 0.5;
    }
    await writer.write({ key: `PMID:${i}`, input: `Title ${i}. Abstract about tumour suppressors.`, labels: ['Neoplasms'], metadata: { i }, vector });
    if ((i + 1) % (rows / 10) === 0) growth = Math.max(growth, retainedBytes() - baseline);
  }
  await writer.end();
  return { growth, bytes };
}

describe('export writers keep memory flat', () => {
  it('npy: 100k rows of 768-d (307 MB) with under 60 MB retained', async () => {
    const { growth, bytes } = await measureExport('npy', 100_000);
    expect(bytes).toBeGreaterThan(300_000_000);
    expect(growth).toBeLessThan(LIMIT_BYTES);
  });

  it('ids: 100k rows with under 60 MB retained', async () => {
    const { growth } = await measureExport('ids', 100_000);
    expect(growth).toBeLessThan(LIMIT_BYTES);
  });

  // Fewer rows where encoding is slow (Parquet ~0.3 ms/row, CSV/JSONL float formatting), so the
  // bound also shrinks to half the output: a writer that kept its output would still fail, and
  // GC noise under a loaded CI machine (seen: 24 MB for Parquet's 3 MB row groups) does not.
  it.each([
    ['parquet', 30_000],
    ['csv', 3_000],
    ['jsonl', 3_000],
  ] as const)('%s: %i rows of 768-d retain under min(60 MB, output / 2)', async (format, rows) => {
    const { growth, bytes } = await measureExport(format, rows);
    expect(bytes).toBeGreaterThan(20_000_000);
    expect(growth).toBeLessThan(Math.min(LIMIT_BYTES, bytes / 2));
  });
});
