import { mkdir, open, readFile, rename, rm, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Payload } from '../../vector-index.js';
import type { PointStore } from './point-store.js';

/**
 * On-disk layout of one collection:
 *   meta.json            dims, distance, payload indexes
 *   CURRENT              the live generation number
 *   gen-<n>/             snapshot: vectors.f32 (slot-addressed), points.jsonl (with term vectors
 *                        on a lexical collection), ann.usearch
 *   wal-<n>.log          writes since snapshot n
 * A new generation is complete on disk before CURRENT names it, so a crash at any point
 * leaves either the old or the new generation whole.
 */
export const genDir = (dir: string, gen: number) => join(dir, `gen-${gen}`);
export const walPath = (dir: string, gen: number) => join(dir, `wal-${gen}.log`);

export async function readCurrent(dir: string): Promise<number> {
  try {
    return Number((await readFile(join(dir, 'CURRENT'), 'utf8')).trim()) || 0;
  } catch {
    return 0;
  }
}

async function writeDurably(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes generation `gen` from the store, saves the ANN graph through `saveAnn`, then points CURRENT at it. */
export async function writeSnapshot(dir: string, gen: number, store: PointStore, saveAnn: (path: string) => void, extraOf: (slot: number) => Record<string, string> | undefined = () => undefined): Promise<void> {
  const target = genDir(dir, gen);
  const tmp = `${target}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const vectors = store.vectors.subarray(0, store.highSlot * store.dims);
  await writeDurably(join(tmp, 'vectors.f32'), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
  const lines: string[] = [];
  for (let slot = 0; slot < store.highSlot; slot++) {
    const id = store.ids[slot];
    if (id !== undefined) lines.push(JSON.stringify({ s: slot, id, p: store.payloads[slot], ...extraOf(slot) }));
  }
  await writeDurably(join(tmp, 'points.jsonl'), lines.join('\n'));
  saveAnn(join(tmp, 'ann.usearch'));
  await syncDir(tmp);
  await rm(target, { recursive: true, force: true });
  await rename(tmp, target);
  await writeDurably(walPath(dir, gen), '');
  await writeDurably(join(dir, 'CURRENT.tmp'), String(gen));
  await rename(join(dir, 'CURRENT.tmp'), join(dir, 'CURRENT'));
  await syncDir(dir);
  // Older generations are garbage once CURRENT has moved.
  for (const entry of await readdir(dir)) {
    const m = /^(?:gen-|wal-)(\d+)/.exec(entry);
    if (m && Number(m[1]) < gen) await rm(join(dir, entry), { recursive: true, force: true });
  }
}

/** Loads generation `gen` into the store; returns the ANN file path to load. */
export async function readSnapshot(dir: string, gen: number, store: PointStore, onPoint: (slot: number, line: Record<string, unknown>) => void = () => undefined): Promise<string> {
  const base = genDir(dir, gen);
  const bytes = await readFile(join(base, 'vectors.f32'));
  const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const text = await readFile(join(base, 'points.jsonl'), 'utf8');
  for (const line of text.split('\n')) {
    if (!line) continue;
    const parsed = JSON.parse(line) as { s: number; id: string; p: Payload };
    const { s, id, p } = parsed;
    store.put(id, vectors.subarray(s * store.dims, (s + 1) * store.dims), p, s);
    onPoint(s, parsed);
  }
  store.reclaimFreeSlots();
  return join(base, 'ann.usearch');
}

export async function writeMeta(dir: string, meta: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeDurably(join(dir, 'meta.json.tmp'), JSON.stringify(meta));
  await rename(join(dir, 'meta.json.tmp'), join(dir, 'meta.json'));
}
