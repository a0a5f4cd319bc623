// Helpers for this folder's tests only.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Yields the bytes in pieces of `chunkBytes`, to exercise records and characters split across chunks. */
export async function* streamOf(input: string | Uint8Array, chunkBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  for (let i = 0; i < bytes.length; i += chunkBytes) yield bytes.subarray(i, i + chunkBytes);
}

/** Drains a generator into an array. */
export async function collect<T>(records: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const record of records) all.push(record);
  return all;
}

/** Drains a generator, returning what it yielded before it threw, and the error. */
export async function collectUntilError<T>(records: AsyncIterable<T>): Promise<{ records: T[]; error: unknown }> {
  const all: T[] = [];
  try {
    for await (const record of records) all.push(record);
  } catch (error) {
    return { records: all, error };
  }
  return { records: all, error: undefined };
}

/** The shared read-only data folder (`../shared/data` beside the repository), and whether it is there. */
export const sharedData = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
export const hasSharedData = existsSync(sharedData);
