import { ModelError } from '../../lib/errors.js';
import type { WeightsSource } from './weights-source.js';

/** The word-embedding tensor's name in most encoders; ModernBERT's is `embeddings.tok_embeddings.weight`. */
export const DEFAULT_ANCHOR = 'embeddings.word_embeddings.weight';

/**
 * Reads encoder tensors by their canonical name (`encoder.layer.0.attention.self.query.weight`)
 * whatever the checkpoint calls them: with or without a `roberta.`/`bert.`/`mpnet.`/`model.`…
 * prefix (saved from a *ForMaskedLM or from the bare model), and with TF-era `gamma`/`beta`
 * LayerNorm names. Heads (`lm_head.*`, `cls.*`, `pooler.*`) are simply never asked for.
 */
export class EncoderWeights {
  private constructor(
    private readonly file: WeightsSource,
    readonly prefix: string,
  ) {}

  /** `anchor`: the word-embedding tensor, whose prefix is the encoder's. */
  static locate(file: WeightsSource, opts: { anchor?: string; architecture?: string } = {}): EncoderWeights {
    const anchor = opts.anchor ?? DEFAULT_ANCHOR;
    const candidates = file.tensorNames().filter((name) => name.endsWith(anchor));
    if (candidates.length === 0) {
      throw new ModelError(`${file.path} has no ${anchor} tensor: not a ${opts.architecture ?? 'BERT/RoBERTa'} encoder checkpoint`);
    }
    // Prefer the shortest prefix: a checkpoint with both `roberta.` and e.g. a teacher copy
    // keeps the main encoder at the top.
    candidates.sort((a, b) => a.length - b.length);
    return new EncoderWeights(file, candidates[0]!.slice(0, -anchor.length));
  }

  resolve(name: string): string {
    const direct = this.prefix + name;
    if (this.file.has(direct)) return direct;
    const legacy = direct.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    if (this.file.has(legacy)) return legacy;
    throw new ModelError(`${this.file.path}: tensor ${direct} is missing (checkpoint incomplete or not an encoder)`);
  }

  shape(name: string): number[] {
    return this.file.info(this.resolve(name)).shape;
  }

  /** Reads a tensor and checks its shape, so a config/checkpoint mismatch fails loudly here. */
  async read(name: string, expectedShape: number[]): Promise<Float32Array> {
    const shape = this.shape(name);
    if (shape.length !== expectedShape.length || shape.some((d, i) => d !== expectedShape[i])) {
      throw new ModelError(
        `${this.file.path}: tensor ${this.resolve(name)} has shape [${shape.join(', ')}], ` +
          `config.json implies [${expectedShape.join(', ')}]`,
      );
    }
    return this.file.readFloat32(this.resolve(name));
  }
}

/** PyTorch Linear stores [out, in]; ONNX MatMul wants [in, out]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const rowBase = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[rowBase + c]!;
  }
  return out;
}
