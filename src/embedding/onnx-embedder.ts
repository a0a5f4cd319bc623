import { InvalidInputError, PayloadTooLargeError } from '../lib/errors.js';
import { Batcher, type BatchObservation, type BatcherStats } from './batcher.js';
import { chunkText } from './chunking.js';
import type { Chunk, ChunkOptions, EmbedOptions, EmbedTokensOptions, Embedder, EmbedderInfo, Embedding, Token, TokenEmbeddings } from './embedder.js';
import { normalizeL2 } from './pooling.js';
import type { InferenceRunner } from './runtime/inference-runner.js';
import { rowValues } from './runtime/pooled-batch.js';
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
  // Sequences submitted by embedTokens: the batcher hands runBatch the very arrays it was given,
  // so pooled and token-level rows share batches without the batcher knowing the difference.
  private readonly tokenLevel = new WeakSet<Int32Array>();

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

  tokenizerFiles(): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } {
    // Padding and truncation off, as TextTokenizer.load sets them: the browser must count every token.
    this.browserTokenizer ??= { ...(JSON.parse(this.tokenizer.json) as Record<string, unknown>), padding: null, truncation: null };
    return { tokenizer: this.browserTokenizer, config: this.tokenizer.tokenizerConfig };
  }

  private browserTokenizer: Record<string, unknown> | undefined;

  async embed(texts: unknown[], options: EmbedOptions = {}): Promise<Embedding[]> {
    const { sequences, lengths } = await this.encodeTexts(texts, options);
    if (sequences.length === 0) return [];
    const vectors = await this.batcher.submit(sequences, options);
    return vectors.map((vector, i) => ({
      vector: this.info.normalize ? normalizeL2(vector) : vector,
      tokens: sequences[i]!.length,
      droppedTokens: lengths[i]! - sequences[i]!.length,
    }));
  }

  async embedTokens(texts: unknown[], options: EmbedTokensOptions = {}): Promise<TokenEmbeddings[]> {
    const { sequences, lengths } = await this.encodeTexts(texts, options);
    if (sequences.length === 0) return [];
    const values = sequences.reduce((sum, s) => sum + s.length, 0) * this.info.dims;
    if (options.maxValues !== undefined && values > options.maxValues) {
      throw new PayloadTooLargeError(`the answer would hold ${values} values (tokens × ${this.info.dims} dims), over the ${options.maxValues} limit: send fewer or shorter inputs`);
    }
    // Copies: a tokenizer that ever reused its arrays must not turn a later pooled request token-level.
    const own = sequences.map((ids) => ids.slice());
    for (const ids of own) this.tokenLevel.add(ids);
    const vectors = await this.batcher.submit(own, options);
    return vectors.map((v, i) => ({ vectors: v, tokens: sequences[i]!.length, droppedTokens: lengths[i]! - sequences[i]!.length }));
  }

  /** Tokenizes with the prompt, then refuses or truncates over-long texts as options say. */
  private async encodeTexts(texts: unknown[], options: EmbedOptions): Promise<{ sequences: Int32Array[]; lengths: number[] }> {
    const valid = validateTexts(texts);
    if (valid.length === 0) return { sequences: [], lengths: [] };
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
    const sequences = encoded.map((e) => (e.ids.length > max ? this.truncate(e.ids, options.truncationDirection) : e.ids));
    return { sequences, lengths: encoded.map((e) => e.ids.length) };
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

  async tokenize(texts: string[], options: { addSpecialTokens: boolean }): Promise<Token[][]> {
    const valid = validateTexts(texts);
    const encoded = await this.tokenizer.encodeBatch(valid, options);
    const { prefixIds, suffixIds } = this.tokenizer;
    return encoded.map((e, t) => Array.from(e.ids, (id, i) => {
      // With special tokens, a single sequence's specials are its first and last ids.
      const isSpecial = options.addSpecialTokens && (i < prefixIds.length || i >= e.ids.length - suffixIds.length);
      const start = e.offsets[2 * i]!;
      const stop = e.offsets[2 * i + 1]!;
      return isSpecial
        ? { id, text: this.tokenizer.tokenString(id) ?? '', special: true, start: null, stop: null }
        : { id, text: valid[t]!.slice(start, stop), special: false, start, stop };
    }));
  }

  async decode(ids: number[][], options: { skipSpecialTokens: boolean }): Promise<string[]> {
    const vocab = this.tokenizer.vocabSize();
    const issues = ids.flatMap((seq, i) => seq.flatMap((id, j) => (Number.isInteger(id) && id >= 0 && id < vocab ? [] : [{ pointer: `/${i}/${j}`, detail: `${id} is not a token id of this model (0 to ${vocab - 1})` }])));
    if (issues.length > 0) throw new InvalidInputError(`${issues.length} id(s) outside the vocabulary`, issues.slice(0, 100));
    return this.tokenizer.decodeBatch(ids, options);
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

  /**
   * Keeps the special tokens at both ends and the text tokens nearest the kept end: the first
   * ones for 'right' (transformers' truncation=True), the last ones for 'left'.
   */
  private truncate(ids: Int32Array, direction: 'left' | 'right' = 'right'): Int32Array {
    const { prefixIds, suffixIds } = this.tokenizer;
    const out = new Int32Array(this.info.maxTokens);
    const keep = this.info.maxTokens - suffixIds.length;
    if (direction === 'right') {
      out.set(ids.subarray(0, keep), 0); // the prefix specials are the first ids
    } else {
      out.set(prefixIds, 0);
      out.set(ids.subarray(ids.length - suffixIds.length - (keep - prefixIds.length), ids.length - suffixIds.length), prefixIds.length);
    }
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
    const tokenRows = sequences.some((ids) => this.tokenLevel.has(ids)) ? Uint8Array.from(sequences, (ids) => (this.tokenLevel.has(ids) ? 1 : 0)) : undefined;
    const layout = { lengths: lengths.slice(), tokenRows: tokenRows?.slice() }; // the runner may transfer (detach) the originals
    const { vectors, hiddenSize } = await this.runner.run({ inputIds, attentionMask, batch, sequence, lengths, pooling: this.info.pooling, tokenRows });
    let offset = 0;
    return Array.from({ length: batch }, (_, row) => {
      const size = rowValues(layout, row, hiddenSize);
      offset += size;
      return vectors.slice(offset - size, offset);
    });
  }
}
