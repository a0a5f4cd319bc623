import { InvalidInputError } from '../lib/errors.js';
import type { Chunk } from './embedder.js';
import type { TextTokenizer } from './tokenizer/text-tokenizer.js';

export interface ChunkTextOptions {
  tokenizer: TextTokenizer;
  text: string;
  /** Window size with special tokens. */
  maxTokens: number;
  overlapTokens: number;
  /**
   * A model prompt's tokens, put after the leading special tokens of every window. Encoded
   * apart from the text, which for WordPiece models equals encoding prompt + text (the
   * prompt ends at a word boundary); byte-level BPE may differ in the first text token.
   */
  promptIds?: Int32Array;
}

/**
 * Token windows over a text: each holds at most maxTokens tokens with the model's special
 * tokens, consecutive windows share overlapTokens, and each knows its character span, so a
 * search hit can point at the passage. A text that fits gives one chunk.
 */
export async function chunkText(opts: ChunkTextOptions): Promise<Chunk[]> {
  const { tokenizer, text } = opts;
  const prompt = opts.promptIds ?? new Int32Array(0);
  const head = tokenizer.prefixIds.length + prompt.length;
  const body = opts.maxTokens - tokenizer.specialTokenCount - prompt.length;
  if (body < 1) throw new InvalidInputError(`maxTokens ${opts.maxTokens} leaves no room for text${prompt.length ? ` after a ${prompt.length}-token prompt` : ''}`);
  if (opts.overlapTokens < 0 || opts.overlapTokens >= body) {
    throw new InvalidInputError(`overlap must be between 0 and ${body - 1} tokens`, [{ pointer: '/overlapTokens', detail: 'out of range' }]);
  }
  const { ids, offsets } = await tokenizer.encode(text, { addSpecialTokens: false });
  const chunks: Chunk[] = [];
  const stride = body - opts.overlapTokens;
  for (let first = 0; first < Math.max(ids.length, 1); first += stride) {
    const last = Math.min(first + body, ids.length);
    const windowIds = new Int32Array(tokenizer.specialTokenCount + prompt.length + (last - first));
    windowIds.set(tokenizer.prefixIds, 0);
    windowIds.set(prompt, tokenizer.prefixIds.length);
    windowIds.set(ids.subarray(first, last), head);
    windowIds.set(tokenizer.suffixIds, head + (last - first));
    const start = last > first ? offsets[2 * first]! : 0;
    const end = last > first ? offsets[2 * (last - 1) + 1]! : text.length;
    chunks.push({ index: chunks.length, text: text.slice(start, end), start, end, tokenCount: windowIds.length, ids: windowIds });
    if (last >= ids.length) break;
  }
  return chunks;
}
