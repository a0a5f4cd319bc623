import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SafetensorsFile } from '../../src/embedding/convert/safetensors.js';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
export const fixtureModel = (name: string) => join(FIXTURES, 'models', name);

/**
 * ../shared (the team's read-only material: real tokenizers and biomedical text) sits beside
 * the repository in development and CI, not in a user's fresh clone; tests that need it skip
 * with SHARED_REASON when it is absent.
 */
export const SHARED_DIR = process.env.BIOVEC_SHARED_DIR ?? resolve(REPO_ROOT, '..', 'shared');
export const HAS_SHARED = existsSync(join(SHARED_DIR, 'models'));
export const SHARED_REASON = `needs ../shared (real tokenizer files and data), absent at ${SHARED_DIR}`;

export interface Reference {
  texts: string[];
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  hidden: Float32Array;
  batch: number;
  sequence: number;
  hiddenSize: number;
}

/** transformers' outputs for a fixture model, written by scripts/python/make_fixtures.py. */
export async function readReference(modelDir: string): Promise<Reference> {
  const { readFile } = await import('node:fs/promises');
  const meta = JSON.parse(await readFile(join(modelDir, 'reference.json'), 'utf8')) as { texts: string[] };
  const file = await SafetensorsFile.open(join(modelDir, 'reference.safetensors'));
  try {
    const [batch, sequence, hiddenSize] = file.info('last_hidden_state').shape as [number, number, number];
    return {
      texts: meta.texts,
      inputIds: await file.readInt64('input_ids'),
      attentionMask: await file.readInt64('attention_mask'),
      hidden: await file.readFloat32('last_hidden_state'),
      batch,
      sequence,
      hiddenSize,
    };
  } finally {
    await file.close();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
