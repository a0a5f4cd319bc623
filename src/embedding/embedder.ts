import type { BatchObservation, BatcherStats, Priority } from './batcher.js';
import type { Pooling } from './pooling.js';

/** What a stored vector was made with: recorded beside every vector. */
export interface EmbedderInfo {
  modelId: string;
  /** Hub commit hash, or undefined for a local directory. */
  revision: string | undefined;
  dims: number;
  pooling: Pooling;
  normalize: boolean;
  /** Max tokens per input, special tokens included. */
  maxTokens: number;
  architecture: string;
  weights: 'safetensors' | 'onnx';
  /**
   * The file the weights came from (model.safetensors, pytorch_model.bin, a shard index,
   * onnx/model.onnx) and config.json's `architectures`, for `biovec model info`.
   */
  checkpoint?: { file: string; architectures: string[] };
  /** int8: the converter quantized the weight MatMuls; vectors differ slightly from fp32 ones. */
  quantize: 'none' | 'int8';
  tokenizer: string;
  /**
   * Text the model expects before queries and before documents (bge's retrieval instruction,
   * e5's "query: "/"passage: "); '' when it expects none. Callers pass one as `prefix`.
   */
  prompts: Prompts;
}

export interface Prompts {
  query: string;
  document: string;
}

export interface EmbedOptions {
  priority?: Priority;
  signal?: AbortSignal;
  /**
   * Over-long input: true (default) keeps the first maxTokens tokens and reports how many
   * were dropped; false refuses it with InvalidInputError.
   */
  truncate?: boolean;
  /** Which end of an over-long text to cut (TEI's truncation_direction): 'right' (default) keeps the start. */
  truncationDirection?: 'left' | 'right';
  /** Prepended to every text before tokenizing (a model prompt, see EmbedderInfo.prompts). */
  prefix?: string;
  /** Refuse with OverloadedError rather than wait longer than this for inference (see SubmitOptions). */
  maxQueueWaitMs?: number;
}

export interface Embedding {
  vector: Float32Array;
  /** Tokens embedded, special tokens included. */
  tokens: number;
  /** Tokens cut off the end because the input was over maxTokens (0 when it fit). */
  droppedTokens: number;
}

/** Every token's last hidden state for one input (TEI's /embed_all). */
export interface TokenEmbeddings {
  /** Row-major [tokens, dims], special tokens included, padding left out; never normalized. */
  vectors: Float32Array;
  /** Tokens embedded, special tokens included. */
  tokens: number;
  /** Tokens cut off because the input was over maxTokens (0 when it fit). */
  droppedTokens: number;
}

export interface EmbedTokensOptions extends EmbedOptions {
  /** Refuse with PayloadTooLargeError, before inference, when tokens × dims over all inputs exceed this. */
  maxValues?: number;
}

/** A window of a long text, ready to embed as is. */
export interface Chunk {
  index: number;
  text: string;
  /** [start, end) in the source text, UTF-16 indices. */
  start: number;
  end: number;
  /** Tokens including special tokens. */
  tokenCount: number;
  /** Token ids with special tokens; opaque to callers, passed back to embedChunks. */
  ids: Int32Array;
}

export interface ChunkOptions {
  /** Tokens shared by consecutive windows. */
  overlapTokens?: number;
  /** Window size in tokens, special tokens included; defaults to the model's limit. */
  maxTokens?: number;
  /** A model prompt repeated at the start of every window (it takes part of each window's tokens). */
  prefix?: string;
}

/** The embedding port: texts in, vectors out. */
export interface Embedder {
  readonly info: EmbedderInfo;
  /** Embeds texts in order. Throws InvalidInputError (pointer /i) or OverloadedError. */
  embed(texts: unknown[], options?: EmbedOptions): Promise<Embedding[]>;
  /** Cuts a text into token windows that each fit the model, with character offsets. */
  chunk(text: string, options?: ChunkOptions): Promise<Chunk[]>;
  /** Embeds chunks from chunk() without tokenizing again. */
  embedChunks(chunks: Chunk[], options?: Omit<EmbedOptions, 'truncate'>): Promise<Float32Array[]>;
  close(): Promise<void>;
  /** Queue depth and batching stats, where the engine batches (metrics). */
  stats?(): BatcherStats;
  /** Calls `fn` after every inference batch (metrics). */
  observe?(fn: (b: BatchObservation) => void): void;
  /**
   * Each token's last hidden state, unpooled (TEI's /embed_all), where the engine runs a real
   * model. Throws InvalidInputError (pointer /i), OverloadedError or PayloadTooLargeError (maxValues).
   */
  embedTokens?(texts: unknown[], options?: EmbedTokensOptions): Promise<TokenEmbeddings[]>;
  /** The model's tokens for each text (TEI's /tokenize), where the engine has a real tokenizer. */
  tokenize?(texts: string[], options: { addSpecialTokens: boolean }): Promise<Token[][]>;
  /** Token ids back to text (TEI's /decode). Throws InvalidInputError (pointer /i/j) for an id outside the vocabulary. */
  decode?(ids: number[][], options: { skipSpecialTokens: boolean }): Promise<string[]>;
  /**
   * The tokenizer as a browser tokenizer loads it (@huggingface/tokenizers): tokenizer.json with
   * padding and truncation off, as the engine runs it, and tokenizer_config.json; where the engine has one.
   */
  tokenizerFiles?(): { tokenizer: Record<string, unknown>; config: Record<string, unknown> };
}

export interface Token {
  id: number;
  /** The token's span of the input, or for a special token its own string. */
  text: string;
  special: boolean;
  /** [start, stop) in the input, UTF-16 indices; null for a special token. */
  start: number | null;
  stop: number | null;
}
