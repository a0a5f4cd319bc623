import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, maxAbsDiff } from '../../../test/helpers/fixtures.js';
import { poolRow } from '../pooling.js';
import { EncoderSession } from '../runtime/encoder-session.js';
import { convertCheckpoint } from './convert-checkpoint.js';

// Tiny random checkpoints and transformers' pooled outputs: scripts/python/make_arch_fixtures.py.
const archFixture = (...parts: string[]) => join(FIXTURES, 'arch', ...parts);

interface Pooled { cls: number[][]; mean: number[][] }
interface ArchReference { input_ids: number[][]; attention_mask: number[][]; fp32: Pooled; fp16: Pooled }

let cacheDir: string;
beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'biovec-arch-'));
});
afterAll(async () => rm(cacheDir, { recursive: true, force: true }));

/** Converts a fixture directory and pools its last_hidden_state the way biovec serves it. */
async function pooledOf(modelDir: string, ref: ArchReference, quantize: 'none' | 'int8' = 'none'): Promise<{ cls: number[]; mean: number[] }> {
  const { onnxPath } = await convertCheckpoint({ modelDir, cacheDir, quantize });
  const session = await EncoderSession.create(onnxPath, { threads: 1, executionProvider: 'cpu' });
  try {
    const batch = ref.input_ids.length;
    const sequence = ref.input_ids[0]!.length;
    const input = {
      inputIds: BigInt64Array.from(ref.input_ids.flat(), BigInt),
      attentionMask: BigInt64Array.from(ref.attention_mask.flat(), BigInt),
      batch,
      sequence,
    };
    const all = await session.run(input);
    // CLS comes from the graph's first-token-only path (the last layer computed for token 0
    // alone), as the engine runs CLS models; mean needs every position.
    const first = await session.run({ ...input, firstTokenOnly: true });
    expect([all.positions, first.positions]).toEqual([sequence, 1]);
    const out = { cls: [] as number[], mean: [] as number[] };
    for (let row = 0; row < batch; row++) {
      const length = ref.attention_mask[row]!.reduce((a, b) => a + b, 0);
      out.cls.push(...poolRow({ hidden: first.hidden, row, sequence: 1, hiddenSize: first.hiddenSize, length, pooling: 'cls' }));
      out.mean.push(...poolRow({ hidden: all.hidden, row, sequence, hiddenSize: all.hiddenSize, length, pooling: 'mean' }));
    }
    return out;
  } finally {
    await session.close();
  }
}

const cosine = (a: number[], b: number[]) => {
  let [dot, na, nb] = [0, 0, 0];
  a.forEach((x, i) => { dot += x * b[i]!; na += x * x; nb += b[i]! * b[i]!; });
  return dot / Math.sqrt(na * nb);
};

const ARCHS = ['mpnet', 'distilbert', 'electra', 'deberta-v2', 'modernbert'];

describe.each(ARCHS)('%s converts to the encoder transformers runs', (arch) => {
  let ref: ArchReference;
  beforeAll(async () => {
    ref = JSON.parse(await readFile(archFixture(arch, 'reference.json'), 'utf8')) as ArchReference;
  });

  it('fp32 safetensors: CLS and mean within 1e-4 of transformers', async () => {
    const ours = await pooledOf(archFixture(arch), ref);
    expect(maxAbsDiff(ours.cls, ref.fp32.cls.flat())).toBeLessThan(1e-4);
    expect(maxAbsDiff(ours.mean, ref.fp32.mean.flat())).toBeLessThan(1e-4);
  });

  it('fp16 safetensors within 1e-4 of transformers, and the same weights as pytorch_model.bin give identical vectors', async () => {
    const fromSafetensors = await pooledOf(archFixture(arch, 'fp16'), ref);
    const fromBin = await pooledOf(archFixture(arch, 'fp16-bin'), ref);
    expect(maxAbsDiff(fromSafetensors.cls, ref.fp16.cls.flat())).toBeLessThan(1e-4);
    expect(maxAbsDiff(fromSafetensors.mean, ref.fp16.mean.flat())).toBeLessThan(1e-4);
    expect(fromBin).toEqual(fromSafetensors);
  });

  it('--quantize int8 builds a graph onnxruntime runs, close to fp32 (mean-pooled cosine ≥ 0.99 per row)', async () => {
    const int8 = await pooledOf(archFixture(arch), ref, 'int8');
    const dim = int8.mean.length / ref.input_ids.length;
    ref.fp32.mean.forEach((row, r) => expect(cosine(int8.mean.slice(r * dim, (r + 1) * dim), row)).toBeGreaterThanOrEqual(0.99));
  });
});

// Other branches of the same builders: DeBERTa-v2 style (absolute positions, token types,
// embed_proj, unshared position projections, unbucketed distances); ModernBERT with biases.
describe.each(['deberta-v2-abs', 'modernbert-bias'])('%s (variant)', (variant) => {
  it('fp32 safetensors: CLS and mean within 1e-4 of transformers', async () => {
    const ref = JSON.parse(await readFile(archFixture(variant, 'reference.json'), 'utf8')) as ArchReference;
    const ours = await pooledOf(archFixture(variant), ref);
    expect(maxAbsDiff(ours.cls, ref.fp32.cls.flat())).toBeLessThan(1e-4);
    expect(maxAbsDiff(ours.mean, ref.fp32.mean.flat())).toBeLessThan(1e-4);
  });
});

describe('sharded checkpoints of new architectures', () => {
  it('mpnet as safetensors shards gives the vectors of the single file', async () => {
    const ref = JSON.parse(await readFile(archFixture('mpnet', 'reference.json'), 'utf8')) as ArchReference;
    expect(await pooledOf(archFixture('mpnet-sharded'), ref)).toEqual(await pooledOf(archFixture('mpnet'), ref));
  });
});
