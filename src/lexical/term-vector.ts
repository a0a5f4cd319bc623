import type { SparseVector } from '../vectors/vector-index.js';
import { DEFAULT_TOKENIZER, tokenize, type TokenizerOptions } from './tokenizer.js';

/**
 * A term's id in sparse vectors: FNV-1a (32 bits) of its UTF-16 code units. A vocabulary of a
 * million terms collides in about one pair per 10^4 queries' worth of terms (birthday bound
 * over 2^32), which BM25 shrugs off; ids fit Qdrant's u32 sparse indices.
 */
export function termId(term: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < term.length; i++) {
    h ^= term.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The term frequencies of a text as a sparse vector (ids ascending, values = counts), the
 * form points and lexical queries carry through the index port. Empty for a text with no words.
 */
export function termVector(text: string, options: TokenizerOptions = DEFAULT_TOKENIZER): SparseVector {
  const counts = new Map<number, number>();
  for (const token of tokenize(text, options)) {
    const id = termId(token);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const indices = Uint32Array.from(counts.keys()).sort();
  const values = Float32Array.from(indices, (id) => counts.get(id)!);
  return { indices, values };
}

/** Sum of a term vector's counts: the BM25 document length. */
export function termCount(vector: SparseVector): number {
  let n = 0;
  for (const v of vector.values) n += v;
  return n;
}
