import { describe, expect, it, beforeAll } from 'vitest';
import { fixtureModel } from '../../test/helpers/fixtures.js';
import { chunkText } from './chunking.js';
import { TextTokenizer } from './tokenizer/text-tokenizer.js';

const LONG = Array.from({ length: 40 }, (_, i) => `Sentence ${i}: TNF-α and IL-6 (±0.5 µM) rose in patient ${i}.`).join(' ');

describe('chunkText', () => {
  let tokenizer: TextTokenizer;
  beforeAll(async () => {
    tokenizer = await TextTokenizer.load(fixtureModel('tiny-roberta'));
  });

  it('gives one chunk, identical to plain encoding, when the text fits', async () => {
    const chunks = await chunkText({ tokenizer, text: 'Aspirin inhibits COX-1.', maxTokens: 64, overlapTokens: 8 });
    expect(chunks).toHaveLength(1);
    const whole = await tokenizer.encode('Aspirin inhibits COX-1.', { addSpecialTokens: true });
    expect(Array.from(chunks[0]!.ids)).toEqual(Array.from(whole.ids));
    expect(chunks[0]).toMatchObject({ start: 0, end: 23, text: 'Aspirin inhibits COX-1.' });
  });

  it('cuts long text into windows that fit, overlap as asked, and cover every token', async () => {
    const maxTokens = 64;
    const overlap = 10;
    const chunks = await chunkText({ tokenizer, text: LONG, maxTokens, overlapTokens: overlap });
    const all = await tokenizer.encode(LONG, { addSpecialTokens: false });
    expect(chunks.length).toBeGreaterThan(3);
    const body = maxTokens - tokenizer.specialTokenCount;
    chunks.forEach((chunk, i) => {
      expect(chunk.index).toBe(i);
      expect(chunk.ids.length).toBeLessThanOrEqual(maxTokens);
      expect(chunk.tokenCount).toBe(chunk.ids.length);
      expect(chunk.ids[0]).toBe(tokenizer.prefixIds[0]);
      expect(chunk.ids[chunk.ids.length - 1]).toBe(tokenizer.suffixIds[0]);
      // Window i starts at token i × (body − overlap) of the whole text.
      const first = i * (body - overlap);
      expect(Array.from(chunk.ids.subarray(1, -1))).toEqual(Array.from(all.ids.subarray(first, first + body)));
      expect(chunk.text).toBe(LONG.slice(chunk.start, chunk.end));
    });
    expect(chunks[0]!.start).toBe(0);
    expect(chunks.at(-1)!.end).toBe(LONG.length);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.start).toBeLessThan(chunks[i - 1]!.end);
  });

  it('rejects an overlap that leaves no progress', async () => {
    await expect(chunkText({ tokenizer, text: LONG, maxTokens: 16, overlapTokens: 14 })).rejects.toThrow(/overlap must be between 0 and 13/);
  });
});
