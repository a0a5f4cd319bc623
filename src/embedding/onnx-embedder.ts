import { InvalidInputError } from '../lib/errors.js';
import { Batcher, type BatchObservation, type BatcherStats } from './batcher.js';
import { chunkText } from './chunking.js';
import type { Chunk, ChunkOptions, EmbedOptions, Embedder, EmbedderInfo, Embedding } from './embedder.js';
import { normalizeL2 } from './pooling.js';
import type { InferenceRunner } from './runtime/inference-runner.js';
import type { TextTokenizer } from './tokenizer/text-tokenizer.js';
import { validateTexts } from './validate-texts.js';

export interface OnnxEmbedderOptions {
  info: EmbedderInfo;
  tokenizer: TextTokenizer;
  runner: InferenceRunner;
  padTokenId: number;
  maxBatchTokens: number;
  maxBatchSize: number;
  maxQueuedTokens: number;
}

/** The embedding engine: tokenizer → token-budget batcher → onnxruntime → pooling. */
export class OnnxEmbedder implements Embedder {
  readonly info: EmbedderInfo;
  readonly tokenizer: TextTokenizer;
  private readonly batcher: Batcher<Float32Array>;
  private readonly runner: InferenceRunner;
  private readonly padId: bigint;
  private readonly promptTokens = new Map<string, Promise<Int32Array>>();

  constructor(opts: OnnxEmbedderOptions) {
    this.info = opts.info;
    this.tokenizer = opts.tokenizer;
    this.runner = opts.runner;
    this.padId = BigInt(opts.padTokenId);
    this.batcher = new Batcher<Float32Array>({
      maxBatchTokens: opts.maxBatchTokens,
      maxBatchSize: opts.maxBatchSize,
      maxQueuedTokens: opts.maxQueuedTokens,
      runBatch: (sequences) => this.runBatch(sequences),
    });
  }

  async embed(texts: unknown[], options: EmbedOptions = {}): Promise<Embedding[]> {
    const valid = validateTexts(texts);
    if (valid.length === 0) return [];
    const prefix = options.prefix ?? '';
    // The prompt joins the text before tokenizing, as sentence-transformers does.
    const encoded = await this.tokenizer.encodeBatch(prefix ? valid.map((t) => prefix + t) : valid, { addSpecialTokens: true });
    const max = this.info.maxTokens;
    const overLong = encoded.flatMap((e, i) => (e.ids.length > max ? [i] : []));
    if (overLong.length > 0 && options.truncate === false) {
      throw new InvalidInputError(
        `${overLong.length} input(s) exceed ${max} tokens; send truncate=true or split them`,
        overLong.map((i) => ({ pointer: `/${i}`, detail: `has ${encoded[i]!.ids.length} tokens, the model takes ${max}` })),
      );
    }
    const sequences = encoded.map((e) => (e.ids.length > max ? this.truncate(e.ids) : e.ids));
    const vectors = await this.batcher.submit(sequences, options);
    return vectors.map((vector, i) => ({
      vector: this.info.normalize ? normalizeL2(vector) : vector,
      tokens: sequences[i]!.length,
      droppedTokens: encoded[i]!.ids.length - sequences[i]!.length,
    }));
  }

  async chunk(text: string, options: ChunkOptions = {}): Promise<Chunk[]> {
    const maxTokens = Math.min(options.maxTokens ?? this.info.maxTokens, this.info.maxTokens);
    const promptIds = options.prefix ? await this.promptIds(options.prefix) : undefined;
    return chunkText({ tokenizer: this.tokenizer, text, maxTokens, overlapTokens: options.overlapTokens ?? 0, promptIds });
  }

  /** A prompt's tokens, encoded once: every chunk of every document repeats them. */
  private promptIds(prefix: string): Promise<Int32Array> {
    let ids = this.promptTokens.get(prefix);
    if (!ids) {
      ids = this.tokenizer.encode(prefix, { addSpecialTokens: false }).then((e) => e.ids);
      this.promptTokens.set(prefix, ids);
    }
    return ids;
  }

  async embedChunks(chunks: Chunk[], options: Omit<EmbedOptions, 'truncate'> = {}): Promise<Float32Array[]> {
    for (const c of chunks) {
      if (c.ids.length > this.info.maxTokens) throw new InvalidInputError(`chunk ${c.index} has ${c.ids.length} tokens, over ${this.info.maxTokens}`);
    }
    const vectors = await this.batcher.submit(chunks.map((c) => c.ids), options);
    return this.info.normalize ? vectors.map(normalizeL2) : vectors;
  }

  stats(): BatcherStats {
    return this.batcher.stats();
  }

  observe(fn: (b: BatchObservation) => void): void {
    this.batcher.observe(fn);
  }

  async close(): Promise<void> {
    await this.batcher.drain();
    await this.runner.close();
  }

  /** Keeps the leading special tokens and the first tokens of text, then the closing ones (transformers' truncation=True). */
  private truncate(ids: Int32Array): Int32Array {
    const { suffixIds } = this.tokenizer;
    const out = new Int32Array(this.info.maxTokens);
    const keep = this.info.maxTokens - suffixIds.length;
    out.set(ids.subarray(0, keep), 0); // the prefix specials are the first ids
    out.set(suffixIds, keep);
    return out;
  }

  private async runBatch(sequences: Int32Array[]): Promise<Float32Array[]> {
    const batch = sequences.length;
    const sequence = sequences.reduce((m, s) => Math.max(m, s.length), 0);
    const inputIds = new BigInt64Array(batch * sequence).fill(this.padId);
    const attentionMask = new BigInt64Array(batch * sequence);
    const lengths = new Int32Array(batch);
    sequences.forEach((ids, row) => {
      const base = row * sequence;
      for (let t = 0; t < ids.length; t++) {
        inputIds[base + t] = BigInt(ids[t]!);
        attentionMask[base + t] = 1n;
      }
      lengths[row] = ids.length;
    });
    const { vectors, hiddenSize } = await this.runner.run({ inputIds, attentionMask, batch, sequence, lengths, pooling: this.info.pooling });
    return Array.from({ length: batch }, (_, row) => vectors.slice(row * hiddenSize, (row + 1) * hiddenSize));
  }
}
