import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { SafetensorsFile } from './safetensors.js';
import { readShardIndex, ShardedWeights } from './sharded.js';
import { TorchCheckpoint } from './torch-checkpoint.js';
import { requireCheckpoint, type WeightsSource } from './weights-source.js';

export interface OpenedWeights {
  source: WeightsSource;
  /** The checkpoint file (or index) the weights came from, for messages. */
  path: string;
  /**
   * Hash identifying the weights, for the conversion cache: a single file's sha256 (the
   * key safetensors conversions always had), or for shards one hash over each file's.
   */
  weightsHash: string;
}

const openSingle = (path: string): Promise<WeightsSource> =>
  path.endsWith('.safetensors') ? SafetensorsFile.open(path) : TorchCheckpoint.open(path);

/**
 * Opens the checkpoint of a model directory in whichever layout it has. `hashFile` is the
 * (memoised) sha256 of one file. Throws ModelError for a missing, corrupt or refused checkpoint.
 */
export async function openModelWeights(dir: string, hashFile: (path: string) => Promise<string>): Promise<OpenedWeights> {
  const { file, path } = await requireCheckpoint(dir);
  // Open (and so vet every pickle) before hashing: a refused checkpoint leaves nothing in
  // the cache directory, not even a remembered hash.
  if (!file.endsWith('.index.json')) {
    const source = await openSingle(path);
    return { source, path, weightsHash: await hashOrClose(source, () => hashFile(path)) };
  }
  const source = await ShardedWeights.load(path, openSingle);
  return {
    source,
    path,
    weightsHash: await hashOrClose(source, async () => {
      // The cache key covers every byte of every shard, and the index that joins them.
      const digest = createHash('sha256').update(`${file}\n${await hashFile(path)}\n`);
      for (const shard of (await readShardIndex(path)).shards) digest.update(`${shard} ${await hashFile(join(dirname(path), shard))}\n`);
      return digest.digest('hex');
    }),
  };
}

async function hashOrClose(source: WeightsSource, hash: () => Promise<string>): Promise<string> {
  try {
    return await hash();
  } catch (err) {
    await source.close();
    throw err;
  }
}
