import { createHash } from 'node:crypto';
import type { Chunk, ChunkOptions, EmbedOptions, Embedder, EmbedderInfo, Embedding } from '../embedder.js';
import { normalizeL2 } from '../pooling.js';
import { validateTexts } from '../validate-texts.js';

/**
 * A deterministic test double at the Embedder port: words hashed into buckets (feature
 * hashing), so texts sharing words get similar vectors. For tests of the catalog, index,
 * ingest and API layers only; numerics of real models are tested on ONNX sessions.
 */
export class HashEmbedder implements Embedder {
  readonly info: EmbedderInfo;
  /** Texts embedded so far (tests assert what was, and was not, re-embedded). */
  embeddedTexts = 0;

  constructor(dims = 32, maxTokens = 64) {
    this.info = { modelId: 'test/hash-embedder', revision: 'v1', dims, pooling: 'mean', normalize: true, maxTokens, architecture: 'hash', weights: 'onnx', quantize: 'none', tokenizer: 'words', prompts: { query: '', document: '' } };
  }

  async embed(texts: unknown[], options: EmbedOptions = {}): Promise<Embedding[]> {
    const valid = validateTexts(texts);
    options.signal?.throwIfAborted();
    return valid.map((text) => {
      const words = tokenize((options.prefix ?? '') + text);
      const kept = options.truncationDirection === 'left' ? words.slice(Math.max(0, words.length - (this.info.maxTokens - 2))) : words.slice(0, this.info.maxTokens - 2);
      this.embeddedTexts += 1;
      return { vector: this.vectorOf(kept.map((w) => w.word)), tokens: kept.length + 2, droppedTokens: words.length - kept.length };
    });
  }

  async chunk(text: string, options: ChunkOptions = {}): Promise<Chunk[]> {
    const prompt = tokenize(options.prefix ?? '').map((w) => bucket(w.word, 1 << 30));
    const body = Math.min(options.maxTokens ?? this.info.maxTokens, this.info.maxTokens) - 2 - prompt.length;
    const overlap = options.overlapTokens ?? 0;
    const words = tokenize(text);
    const out: Chunk[] = [];
    for (let first = 0; first < Math.max(words.length, 1); first += body - overlap) {
      const window = words.slice(first, first + body);
      const start = window[0]?.start ?? 0;
      const end = window.at(-1)?.end ?? text.length;
      out.push({ index: out.length, text: text.slice(start, end), start, end, tokenCount: prompt.length + window.length + 2, ids: Int32Array.from([...prompt, ...window.map((w) => bucket(w.word, 1 << 30))]) });
      if (first + body >= words.length) break;
    }
    return out;
  }

  async embedChunks(chunks: Chunk[]): Promise<Float32Array[]> {
    this.embeddedTexts += chunks.length;
    return chunks.map((c) => {
      const v = new Float32Array(this.info.dims);
      for (const id of c.ids) v[id % this.info.dims]! += 1;
      return normalizeL2(v);
    });
  }

  async close(): Promise<void> {}

  private vectorOf(words: string[]): Float32Array {
    const v = new Float32Array(this.info.dims);
    for (const word of words) v[bucket(word, 1 << 30) % this.info.dims]! += 1;
    return normalizeL2(v);
  }
}

function tokenize(text: string): { word: string; start: number; end: number }[] {
  return [...text.matchAll(/[\p{L}\p{N}]+/gu)].map((m) => ({ word: m[0].toLowerCase(), start: m.index, end: m.index + m[0].length }));
}

function bucket(word: string, size: number): number {
  return createHash('md5').update(word).digest().readUInt32LE(0) % size;
}
