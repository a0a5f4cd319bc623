import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../src/embedding/convert/convert-checkpoint.js';
import { poolRow } from '../../src/embedding/pooling.js';
import { EncoderSession } from '../../src/embedding/runtime/encoder-session.js';
import { TextTokenizer } from '../../src/embedding/tokenizer/text-tokenizer.js';
import { FIXTURES, HAS_SHARED, SHARED_DIR, fixtureModel, maxAbsDiff, readReference } from './fixtures.js';

export interface ModelParity {
  model: string;
  maxAbsDiffHidden: number;
  maxAbsDiffCls: number;
  maxAbsDiffMean: number;
}

/** Our graph on transformers' own padded batch: every position's hidden state, CLS, and mean. */
export async function measureModelParity(name: string, opts: { weights: 'safetensors' | 'onnx' } = { weights: 'safetensors' }): Promise<ModelParity> {
  const dir = fixtureModel(name);
  const cacheDir = await mkdtemp(join(tmpdir(), 'biovec-parity-'));
  try {
    const onnxPath = opts.weights === 'onnx'
      ? join(dir, 'onnx', 'model.onnx')
      : (await convertCheckpoint({ modelDir: dir, cacheDir })).onnxPath;
    const session = await EncoderSession.create(onnxPath, { threads: 1, executionProvider: 'cpu' });
    const ref = await readReference(dir);
    const input = { inputIds: ref.inputIds, attentionMask: ref.attentionMask, batch: ref.batch, sequence: ref.sequence };
    const { hidden, hiddenSize } = await session.run(input);
    // CLS as the engine computes it for CLS models: our graphs run the last layer for token 0
    // alone (positions 1); a third-party graph ignores the request (positions = sequence).
    const first = await session.run({ ...input, firstTokenOnly: true });
    await session.close();
    let cls = 0;
    let mean = 0;
    for (let row = 0; row < ref.batch; row++) {
      let length = 0;
      for (let t = 0; t < ref.sequence; t++) length += Number(ref.attentionMask[row * ref.sequence + t]);
      const common = { row, sequence: ref.sequence, hiddenSize, length };
      const ours = poolRow({ ...common, sequence: first.positions, hidden: first.hidden, pooling: 'cls' });
      cls = Math.max(cls, maxAbsDiff(ours, poolRow({ ...common, hidden: ref.hidden, pooling: 'cls' })));
      // The reference mean is computed here the way sentence-transformers does it:
      // sum(h · mask) / sum(mask) over all positions, on transformers' hidden states.
      const expected = new Float64Array(hiddenSize);
      for (let t = 0; t < ref.sequence; t++) {
        const m = Number(ref.attentionMask[row * ref.sequence + t]);
        for (let h = 0; h < hiddenSize; h++) expected[h]! += ref.hidden[(row * ref.sequence + t) * hiddenSize + h]! * m;
      }
      mean = Math.max(mean, maxAbsDiff(poolRow({ ...common, hidden, pooling: 'mean' }), expected.map((v) => v / length)));
    }
    return { model: name, maxAbsDiffHidden: maxAbsDiff(hidden, ref.hidden), maxAbsDiffCls: cls, maxAbsDiffMean: mean };
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

export interface TokenizerParity {
  tokenizer: string;
  strings: number;
  mismatches: number;
  firstMismatch?: { index: number; text: string; expected: number[]; actual: number[] };
}

export const TOKENIZER_CASES: { name: string; dir: () => string; needsShared: boolean }[] = [
  { name: 'tiny-roberta', dir: () => fixtureModel('tiny-roberta'), needsShared: false },
  { name: 'tiny-bert', dir: () => fixtureModel('tiny-bert'), needsShared: false },
  { name: 'biomed_roberta_base', dir: () => join(SHARED_DIR, 'models', 'biomed_roberta_base-tokenizer'), needsShared: true },
  { name: 'BiomedBERT-base-uncased-abstract', dir: () => join(SHARED_DIR, 'models', 'BiomedBERT-base-uncased-abstract-tokenizer'), needsShared: true },
];

/** Our token ids against transformers' fast tokenizer's, string by string. */
export async function measureTokenizerParity(name: string, dir: string): Promise<TokenizerParity> {
  const strings = JSON.parse(await readFile(join(FIXTURES, 'tokenizer-parity', 'strings.json'), 'utf8')) as string[];
  const expected = (JSON.parse(await readFile(join(FIXTURES, 'tokenizer-parity', `${name}.json`), 'utf8')) as { ids: number[][] }).ids;
  const tokenizer = await TextTokenizer.load(dir);
  const encoded = await tokenizer.encodeBatch(strings, { addSpecialTokens: true });
  const result: TokenizerParity = { tokenizer: name, strings: strings.length, mismatches: 0 };
  encoded.forEach((enc, i) => {
    const actual = Array.from(enc.ids);
    const want = expected[i]!;
    if (actual.length !== want.length || actual.some((id, j) => id !== want[j])) {
      result.mismatches += 1;
      result.firstMismatch ??= { index: i, text: strings[i]!, expected: want, actual };
    }
  });
  return result;
}

export const availableTokenizerCases = () => TOKENIZER_CASES.filter((c) => !c.needsShared || HAS_SHARED);
