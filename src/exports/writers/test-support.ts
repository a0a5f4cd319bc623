// Helpers shared by this folder's tests only (kept out of *.test.ts so vitest does not run them).
import { Writable } from 'node:stream';
import type { ExportRow, ExportWriter } from './export-row.js';

/** A sink that keeps every byte, for round-trip tests. */
export function collectingSink(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

/** A sink with a 1-byte high-water mark that takes an event-loop turn per chunk; it logs how much was queued. */
export function slowSink(): { sink: Writable; bytes: () => Buffer; received: () => number; maxQueuedBytes: () => number } {
  const chunks: Buffer[] = [];
  let received = 0;
  let maxQueued = 0;
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      maxQueued = Math.max(maxQueued, this.writableLength);
      setImmediate(() => {
        chunks.push(chunk);
        received += chunk.length;
        callback();
      });
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks), received: () => received, maxQueuedBytes: () => maxQueued };
}

/** A deterministic vector whose floats are not all short decimals: row and dim both show. */
export function testVector(row: number, dims: number): Float32Array {
  const vector = new Float32Array(dims);
  for (let i = 0; i < dims; i++) vector[i] = Math.sin(row * 31 + i * 7) * (i % 3 === 0 ? 1e-3 : 1);
  return vector;
}

/** Row `i` of a small export: awkward text on purpose (commas, quotes, newlines, unicode). */
export function testRow(i: number, dims: number, chunk?: number): ExportRow {
  const row: ExportRow = {
    key: chunk === undefined ? `PMID:${1000 + i}` : `PMID:${1000 + i}#${chunk}`,
    input: `Title ${i}, "quoted"\nβ-amyloid; line two`,
    labels: i % 2 === 0 ? ['Neoplasms', 'Carcinoma, Squamous Cell'] : [],
    metadata: { year: 2000 + i, mesh: ['D009369'] },
    vector: testVector(i, dims),
  };
  if (chunk !== undefined) row.chunk = chunk;
  return row;
}

/** Writes the rows in order, awaiting each write as a caller must, then ends. */
export async function writeAll(writer: ExportWriter, rows: Iterable<ExportRow>): Promise<void> {
  for (const row of rows) await writer.write(row);
  await writer.end();
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
