import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelError } from '../../lib/errors.js';
import type { WeightsSource } from './weights-source.js';

/** A shard file name as transformers writes it; anything with a path in it is refused. */
const SHARD_NAME = /^[\w.-]+$/;

/**
 * Reads `model.safetensors.index.json` / `pytorch_model.bin.index.json` and returns the shard
 * file names, sorted (shard 1 first). Throws ModelError for a malformed index or a shard name that
 * is not a plain file name (an index must not point outside the model directory).
 */
export async function readShardIndex(indexPath: string): Promise<{ weightMap: Map<string, string>; shards: string[] }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (err) {
    throw new ModelError(`${indexPath} is not valid JSON`, { cause: err });
  }
  const raw = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ModelError(`${indexPath} has no weight_map object`);
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof shard !== 'string' || !SHARD_NAME.test(shard) || shard === '.' || shard === '..') {
      throw new ModelError(`${indexPath}: weight_map sends ${tensor} to ${JSON.stringify(shard)}, not a shard file name`);
    }
    weightMap.set(tensor, shard);
  }
  if (weightMap.size === 0) throw new ModelError(`${indexPath} has an empty weight_map`);
  return { weightMap, shards: [...new Set(weightMap.values())].sort() };
}

/**
 * The shards of a sharded checkpoint as one WeightsSource. Each shard is opened once, when
 * its first tensor is asked for (opening reads only its header or pickle, not its tensors).
 */
export class ShardedWeights implements WeightsSource {
  private readonly open = new Map<string, Promise<WeightsSource>>();

  private constructor(
    readonly path: string,
    private readonly weightMap: ReadonlyMap<string, string>,
    private readonly shapes: ReadonlyMap<string, { shape: number[]; dtype: string }>,
    private readonly openShard: (path: string) => Promise<WeightsSource>,
  ) {}

  /**
   * Checks every shard once up front (present, and holding the tensors the index says), so a
   * missing or mismatched shard fails before any conversion work. Throws ModelError.
   */
  static async load(indexPath: string, openShard: (path: string) => Promise<WeightsSource>): Promise<ShardedWeights> {
    const { weightMap, shards } = await readShardIndex(indexPath);
    const shapes = new Map<string, { shape: number[]; dtype: string }>();
    for (const shard of shards) {
      const shardPath = join(dirname(indexPath), shard);
      const source = await openShard(shardPath).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ModelError(`${indexPath} names shard ${shard}, which is missing`);
        throw err;
      });
      try {
        for (const [tensor, owner] of weightMap) {
          if (owner !== shard) continue;
          if (!source.has(tensor)) throw new ModelError(`${shardPath} lacks ${tensor}, which ${indexPath} places there`);
          shapes.set(tensor, source.info(tensor));
        }
      } finally {
        await source.close();
      }
    }
    return new ShardedWeights(indexPath, weightMap, shapes, openShard);
  }

  tensorNames(): string[] {
    return [...this.weightMap.keys()];
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  info(name: string): { shape: number[]; dtype: string } {
    const info = this.shapes.get(name);
    if (!info) throw new ModelError(`${this.path}: tensor ${name} is missing`);
    return info;
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const shard = this.weightMap.get(name);
    if (!shard) throw new ModelError(`${this.path}: tensor ${name} is missing`);
    let source = this.open.get(shard);
    if (!source) {
      source = this.openShard(join(dirname(this.path), shard));
      this.open.set(shard, source);
    }
    return (await source).readFloat32(name);
  }

  async close(): Promise<void> {
    const sources = await Promise.allSettled(this.open.values());
    this.open.clear();
    for (const s of sources) if (s.status === 'fulfilled') await s.value.close();
  }
}
