import { availableParallelism } from 'node:os';
import { mkdir, readFile, rename, rm, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidInputError, NotFoundError } from '../../../lib/errors.js';
import { DEFAULT_BM25 } from '../../../lexical/bm25.js';
import type { CollectionInfo, CollectionSpec, Filter, Hit, KnnQuery, LexicalQuery, StoredPoint, VectorIndex, VectorPoint } from '../../vector-index.js';
import { EmbeddedCollection, type TuningOptions } from './embedded-collection.js';
import { acquireLock } from './process-lock.js';

export const DEFAULT_TUNING: TuningOptions = {
  connectivity: 16,
  expansionSearch: 128,
  exactLimit: 4096,
  // ~20k 768-d points: bounds the replay after a crash to seconds.
  compactAfterBytes: 64 * 1024 * 1024,
  threads: availableParallelism(),
  bm25: DEFAULT_BM25,
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const exists = (path: string) => access(path).then(() => true, () => false);

/**
 * The default vector index: in-process, persisted under `<dataDir>` (one directory per
 * collection, aliases in aliases.json), HNSW for speed and exact scoring where a filter
 * leaves few candidates. One process owns a directory at a time.
 */
export class EmbeddedIndex implements VectorIndex {
  private readonly open = new Map<string, EmbeddedCollection>();
  private aliases: Record<string, string> = {};

  private constructor(
    private readonly dir: string,
    private readonly tuning: TuningOptions,
    private readonly unlock: () => Promise<void>,
  ) {}

  /** Opens (creating) the index directory and takes its lock. Throws ConflictError if another live process holds it. */
  static async openAt(dir: string, tuning: Partial<TuningOptions> = {}): Promise<EmbeddedIndex> {
    await mkdir(join(dir, 'collections'), { recursive: true });
    const unlock = await acquireLock(join(dir, 'LOCK'));
    const index = new EmbeddedIndex(dir, { ...DEFAULT_TUNING, ...tuning }, unlock);
    try {
      index.aliases = JSON.parse(await readFile(join(dir, 'aliases.json'), 'utf8')) as Record<string, string>;
    } catch {
      index.aliases = {};
    }
    return index;
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    checkName(spec.name);
    if (!Number.isInteger(spec.dims) || spec.dims < 1) throw new InvalidInputError(`dims must be a positive integer, got ${spec.dims}`);
    const existing = await this.load(spec.name);
    if (existing) {
      const { dims, distance } = existing.meta;
      if (dims !== spec.dims || distance !== spec.distance) {
        throw new ConflictError(`collection ${spec.name} holds ${dims}-dimensional ${distance} vectors; asked for ${spec.dims}-dimensional ${spec.distance}`);
      }
      if (spec.lexical && !existing.meta.lexical) await existing.enableLexical();
      return;
    }
    // Without meta.json nothing in the directory is a collection (create writes meta first):
    // whatever is left, e.g. a snapshot written after the directory was removed, must not come back.
    await rm(this.collectionDir(spec.name), { recursive: true, force: true });
    this.open.set(spec.name, await EmbeddedCollection.create(this.collectionDir(spec.name), spec, this.tuning));
  }

  async collectionInfo(name: string): Promise<CollectionInfo | undefined> {
    const collection = await this.load(this.resolve(name));
    return collection && { name, dims: collection.meta.dims, distance: collection.meta.distance, points: collection.count, lexical: collection.meta.lexical ?? false };
  }

  async dropCollection(name: string): Promise<void> {
    if (this.aliases[name]) {
      delete this.aliases[name];
      await this.saveAliases();
      return;
    }
    if (!NAME.test(name)) return;
    await this.open.get(name)?.close();
    this.open.delete(name);
    await rm(this.collectionDir(name), { recursive: true, force: true });
    let changed = false;
    for (const [alias, target] of Object.entries(this.aliases)) {
      if (target === name) {
        delete this.aliases[alias];
        changed = true;
      }
    }
    if (changed) await this.saveAliases();
  }

  async upsert(collection: string, points: VectorPoint[]): Promise<void> {
    if (points.length > 0) await (await this.require(collection)).upsert(points);
  }

  async deleteByIds(collection: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await (await this.require(collection)).deleteByIds(ids);
  }

  async deleteByFilter(collection: string, filter: Filter): Promise<void> {
    await (await this.require(collection)).deleteByFilter(filter);
  }

  async search(collection: string, query: KnnQuery): Promise<Hit[]> {
    return (await this.require(collection)).search(query);
  }

  async searchLexical(collection: string, query: LexicalQuery): Promise<Hit[]> {
    return (await this.require(collection)).searchLexical(query);
  }

  async count(collection: string, filter?: Filter): Promise<number> {
    return (await this.require(collection)).countMatching(filter);
  }

  async *iterate(collection: string, options: { batchSize?: number; withVectors?: boolean; filter?: Filter } = {}): AsyncIterable<StoredPoint[]> {
    const c = await this.require(collection);
    yield* c.points({ batchSize: options.batchSize ?? 256, withVectors: options.withVectors ?? false, filter: options.filter });
  }

  async setAlias(alias: string, collection: string): Promise<void> {
    checkName(alias);
    if (!(await this.load(collection))) throw new NotFoundError('collection', collection);
    if (await exists(this.collectionDir(alias))) throw new ConflictError(`${alias} is a collection, not an alias`);
    this.aliases[alias] = collection;
    await this.saveAliases();
  }

  async close(): Promise<void> {
    for (const [name, collection] of this.open) {
      // Compacting a removed collection would write a snapshot into a fresh directory.
      if (await exists(join(this.collectionDir(name), 'meta.json'))) await collection.close();
      else await collection.abandon();
    }
    this.open.clear();
    await this.unlock();
  }

  private resolve(name: string): string {
    return this.aliases[name] ?? name;
  }

  private collectionDir(name: string): string {
    return join(this.dir, 'collections', name);
  }

  private async load(name: string): Promise<EmbeddedCollection | undefined> {
    if (!NAME.test(name)) return undefined;
    const isOnDisk = await exists(join(this.collectionDir(name), 'meta.json'));
    const cached = this.open.get(name);
    if (cached && isOnDisk) return cached;
    if (cached) {
      // Its files were removed behind our back (a lost volume, an operator's rm): serving the
      // copy in memory would answer from data that the next restart no longer has, and writes
      // would go to an unlinked log. Report it missing, as Qdrant does (issue 11).
      this.open.delete(name);
      await cached.abandon();
    }
    if (!isOnDisk) return undefined;
    const collection = await EmbeddedCollection.open(this.collectionDir(name), this.tuning);
    this.open.set(name, collection);
    return collection;
  }

  private async require(name: string): Promise<EmbeddedCollection> {
    const collection = await this.load(this.resolve(name));
    if (!collection) throw new NotFoundError('collection', name);
    return collection;
  }

  private async saveAliases(): Promise<void> {
    const tmp = join(this.dir, 'aliases.json.tmp');
    await writeFile(tmp, JSON.stringify(this.aliases));
    await rename(tmp, join(this.dir, 'aliases.json'));
  }
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new InvalidInputError(`collection name "${name}" must be 1-128 letters, digits, _ . - (starting with a letter or digit)`, [{ pointer: '/name', detail: 'invalid name' }]);
  }
}
