// Issue 13: the web app counts query tokens with @huggingface/tokenizers on the tokenizer.json
// GET /v1/tokenizer serves (TextTokenizer.json, padding and truncation off, as OnnxEmbedder's
// tokenizerFiles() gives it). Its ids must be the server's (the Rust `tokenizers` binding), for
// every kind of checkpoint: vocab.json + merges.txt and vocab.txt (tokenizer.json built here),
// and a shipped tokenizer.json; on the 271 tokenizer-parity strings (biomedical, unicode).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { FIXTURES, fixtureModel, REPO_ROOT, SHARED_DIR } from '../../test/helpers/fixtures.js';
import { TextTokenizer } from '../embedding/tokenizer/text-tokenizer.js';

const STRINGS = JSON.parse(readFileSync(join(FIXTURES, 'tokenizer-parity', 'strings.json'), 'utf8')) as string[];

const CASES: [string, string][] = [
  ['tiny-roberta (vocab.json + merges.txt)', fixtureModel('tiny-roberta')],
  ['tiny-bert', fixtureModel('tiny-bert')],
  ['biomed_roberta_base (the default model; vocab.json + merges.txt)', join(SHARED_DIR, 'models', 'biomed_roberta_base-tokenizer')],
  ['BiomedBERT (vocab.txt)', join(SHARED_DIR, 'models', 'BiomedBERT-base-uncased-abstract-tokenizer')],
  ['bge-small-en-v1.5 (tokenizer.json)', join(REPO_ROOT, '.models', 'bge-small-en-v1.5')],
  ['all-MiniLM-L6-v2 (tokenizer.json)', join(REPO_ROOT, '.models', 'all-MiniLM-L6-v2')],
];

describe('the browser tokenizer on the served tokenizer.json', () => {
  for (const [name, dir] of CASES) {
    const absent = existsSync(dir) ? undefined : `${dir} is absent (../shared, or .models from scripts/fetch-models.sh)`;
    it.skipIf(absent !== undefined)(`gives the server's ids: ${name}${absent ? ` — skipped: ${absent}` : ''}`, async () => {
      const server = await TextTokenizer.load(dir);
      const browser = new Tokenizer({ ...JSON.parse(server.json), padding: null, truncation: null }, server.tokenizerConfig);
      const expected = await server.encodeBatch(STRINGS, { addSpecialTokens: true });
      const mismatches = STRINGS.filter((s, i) => JSON.stringify(browser.encode(s).ids) !== JSON.stringify(Array.from(expected[i]!.ids)));
      expect(mismatches.map((s) => JSON.stringify(s.slice(0, 60)))).toEqual([]);
    });
  }
});
