import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../../lib/errors.js';

/**
 * Named tensors of a checkpoint, whatever its format (safetensors, torch pickle, sharded):
 * the seam between file formats and the graph builder. Reads are lazy, one tensor at a time.
 */
export interface WeightsSource {
  /** For messages. */
  readonly path: string;
  tensorNames(): string[];
  has(name: string): boolean;
  /** Throws ModelError naming a missing tensor. */
  info(name: string): { shape: number[]; dtype: string };
  /** Any stored float dtype, widened to fp32. Throws ModelError for a non-float tensor. */
  readFloat32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

/** The checkpoint layouts we read, in the order we prefer them when a directory has several. */
export const CHECKPOINT_FILES = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
] as const;

export type CheckpointFile = (typeof CHECKPOINT_FILES)[number];

const exists = (path: string) => access(path).then(() => true, () => false);

/** The checkpoint file of a model directory, or undefined when it has none of CHECKPOINT_FILES. */
export async function findCheckpoint(dir: string): Promise<{ file: CheckpointFile; path: string } | undefined> {
  for (const file of CHECKPOINT_FILES) {
    const path = join(dir, file);
    if (await exists(path)) return { file, path };
  }
  return undefined;
}

/** Throws ModelError when the directory has no checkpoint. */
export async function requireCheckpoint(dir: string): Promise<{ file: CheckpointFile; path: string }> {
  const found = await findCheckpoint(dir);
  if (!found) throw new ModelError(`${dir} has no model.safetensors, pytorch_model.bin or sharded index (nor a model.onnx)`);
  return found;
}
