import { mkdtemp, rm, cp, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, SHARED_DIR, SHARED_REASON, fixtureModel } from '../../../test/helpers/fixtures.js';
import { TOKENIZER_CASES, measureTokenizerParity } from '../../../test/helpers/parity.js';
import { ModelError } from '../../lib/errors.js';
import { TextTokenizer } from './text-tokenizer.js';

describe('token ids equal transformers\' fast tokenizers', () => {
  for (const c of TOKENIZER_CASES) {
    it.skipIf(c.needsShared && !HAS_SHARED)(`${c.name}${c.needsShared && !HAS_SHARED ? ` (skipped: ${SHARED_REASON})` : ''}`, async () => {
      const parity = await measureTokenizerParity(c.name, c.dir());
      expect(parity.strings).toBeGreaterThanOrEqual(200);
      expect(parity.firstMismatch).toBeUndefined();
      expect(parity.mismatches).toBe(0);
    });
  }
});

describe('TextTokenizer', () => {
  it.skipIf(!HAS_SHARED)('builds biomed_roberta_base\'s byte-level BPE from vocab.json + merges.txt (no tokenizer.json)', async () => {
    const tok = await TextTokenizer.load(join(SHARED_DIR, 'models', 'biomed_roberta_base-tokenizer'));
    expect(tok.kind).toBe('bpe');
    expect(Array.from(tok.prefixIds)).toEqual([0]);
    expect(Array.from(tok.suffixIds)).toEqual([2]);
    expect(tok.configMaxLength).toBe(512);
    expect(tok.vocabSize()).toBe(50265);
  });

  it('loads tokenizer.json when present and vocab.txt WordPiece otherwise', async () => {
    expect((await TextTokenizer.load(fixtureModel('tiny-bert-onnx'))).kind).toBe('tokenizer.json');
    const wp = await TextTokenizer.load(fixtureModel('tiny-bert'));
    expect(wp.kind).toBe('wordpiece');
    expect(wp.specialTokenCount).toBe(2);
  });

  it('gives offsets as UTF-16 indices, so slices work past astral characters', async () => {
    const tok = await TextTokenizer.load(fixtureModel('tiny-bert'));
    const text = '🧬 DNA and 💊 aspirin';
    const { ids, offsets } = await tok.encode(text, { addSpecialTokens: false });
    const pieces = Array.from({ length: ids.length }, (_, i) => text.slice(offsets[2 * i]!, offsets[2 * i + 1]!));
    // Every token's slice is its own piece of the text: joined, they give the text without spaces.
    expect(pieces.join('')).toBe('🧬DNAand💊aspirin');
    expect(pieces).toContain('🧬');
  });

  it('ignores padding and truncation stored in tokenizer.json (sentence-transformers exports pad to 128)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'biovec-tokpad-'));
    try {
      const json = JSON.parse(await readFile(join(fixtureModel('tiny-bert-onnx'), 'tokenizer.json'), 'utf8'));
      json.padding = { strategy: { Fixed: 128 }, direction: 'Right', pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: '[PAD]' };
      json.truncation = { max_length: 4, strategy: 'LongestFirst', stride: 0, direction: 'Right' };
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json));
      const tok = await TextTokenizer.load(dir);
      const plain = await (await TextTokenizer.load(fixtureModel('tiny-bert-onnx'))).encode('aspirin inhibits platelet aggregation', { addSpecialTokens: true });
      const { ids } = await tok.encode('aspirin inhibits platelet aggregation', { addSpecialTokens: true });
      expect(Array.from(ids)).toEqual(Array.from(plain.ids));
      expect(ids.length).toBeGreaterThan(4);
      expect(ids.length).toBeLessThan(128);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says which files it looked for when a directory has no tokenizer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'biovec-tok-'));
    try {
      await expect(TextTokenizer.load(dir)).rejects.toThrow(/expected tokenizer.json, vocab.json \+ merges.txt, or vocab.txt/);
      await cp(join(fixtureModel('tiny-roberta'), 'merges.txt'), join(dir, 'merges.txt'));
      await writeFile(join(dir, 'vocab.json'), '{not json');
      const err = await TextTokenizer.load(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).detail).toMatch(/vocab.json is missing or not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
