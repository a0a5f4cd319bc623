import { and, eq, sql } from 'drizzle-orm';
import type { CollectionRecord } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import { documents } from '../db/schema.js';
import { exportRows } from '../exports/export-service.js';
import { projectPca } from './pca.js';

export const MAX_MAP_SAMPLE = 5000;

export interface MapQuery {
  /** Documents to place at most (a deterministic sample of the collection beyond it). */
  sample: number;
  /** `labels` (a document's first label) or a metadata key. */
  colorBy: string;
}

export interface MapPoint {
  id: string;
  x: number;
  y: number;
  title: string | null;
  group: string | null;
}

export interface CollectionMap {
  method: 'pca';
  color_by: string;
  /** Documents with vectors in the collection, and how many of them are placed. */
  documents: number;
  sampled: number;
  explained_variance: [number, number];
  groups: { name: string; count: number }[];
  points: MapPoint[];
  cached: boolean;
}

const CACHE_ENTRIES = 16;
const cache = new Map<string, Promise<Omit<CollectionMap, 'cached'>>>();

/**
 * What a cached map was made from: the collection (its id and model version) and its documents
 * (count and last change), so any write, delete or re-embed makes a new map.
 */
async function versionKey(db: Database, collection: CollectionRecord): Promise<string> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int`, last: sql<string | null>`max(${documents.updatedAt})::text` })
    .from(documents)
    .where(and(eq(documents.collectionId, collection.id), sql`${documents.chunkCount} > 0`));
  return `${collection.id}:${collection.version}:${row?.n ?? 0}:${row?.last ?? ''}`;
}

/**
 * A 2-D PCA map of a collection's document vectors (first chunk, as exports give them), cached
 * per collection version, document count and last change, sample size and colour field.
 * Reads every document once to sample; memory holds the sample only.
 */
export async function collectionMap(db: Database, collection: CollectionRecord, query: MapQuery): Promise<CollectionMap> {
  const key = `${await versionKey(db, collection)}:${query.sample}:${query.colorBy}`;
  let entry = cache.get(key);
  const cached = entry !== undefined;
  if (!entry) {
    entry = buildMap(db, collection, query);
    cache.set(key, entry);
    entry.catch(() => cache.delete(key));
    while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  }
  return { ...(await entry), cached };
}

interface Sampled {
  id: string;
  title: string | null;
  group: string | null;
  vector: Float32Array;
}

async function buildMap(db: Database, collection: CollectionRecord, query: MapQuery): Promise<Omit<CollectionMap, 'cached'>> {
  const sample: Sampled[] = [];
  let seen = 0;
  let seed = 0x9e3779b9;
  // xorshift32 with a fixed seed: the same collection always gives the same sample.
  const random = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
  for await (const row of exportRows(db, collection, { format: 'jsonl', rows: 'document', pooling: 'first' })) {
    seen++;
    const item = { id: row.key, title: titleOf(row.input), group: groupOf(row, query.colorBy), vector: row.vector };
    // Reservoir sampling (Algorithm R): every document is kept with equal chance.
    if (sample.length < query.sample) sample.push(item);
    else {
      const j = Math.floor(random() * seen);
      if (j < query.sample) sample[j] = item;
    }
  }
  const { coords, explained } = projectPca(sample.map((s) => s.vector));
  const counts = new Map<string, number>();
  for (const s of sample) if (s.group !== null) counts.set(s.group, (counts.get(s.group) ?? 0) + 1);
  return {
    method: 'pca', color_by: query.colorBy, documents: seen, sampled: sample.length, explained_variance: explained,
    groups: [...counts].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)),
    points: sample.map((s, i) => ({ id: s.id, x: round(coords[2 * i]!), y: round(coords[2 * i + 1]!), title: s.title, group: s.group })),
  };
}

const round = (v: number) => Number(v.toPrecision(6));

/** The first line of the embedded text (the title when the document has one), bounded for hover text. */
function titleOf(input: string): string | null {
  const line = input.split('\n', 1)[0]?.trim() ?? '';
  return line === '' ? null : line.slice(0, 300);
}

function groupOf(row: { labels: string[]; metadata: Record<string, unknown> }, colorBy: string): string | null {
  const value = colorBy === 'labels' ? row.labels : Object.hasOwn(row.metadata, colorBy) ? row.metadata[colorBy] : undefined;
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first.slice(0, 200);
  if (typeof first === 'number' || typeof first === 'boolean') return String(first);
  return null;
}
