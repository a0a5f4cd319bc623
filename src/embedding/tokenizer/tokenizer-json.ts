import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../../lib/errors.js';

/**
 * Builds the `tokenizer.json` that transformers' converters (RobertaConverter, BertConverter in
 * convert_slow_tokenizer.py) would make from a checkpoint's slow-tokenizer files, so the Rust
 * `tokenizers` runtime tokenizes exactly as transformers' fast tokenizers do.
 */

interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

const special = (id: number, content: string): AddedToken => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelError(`${path} is not valid JSON`, { cause: err });
  }
}

/** special_tokens_map.json / tokenizer_config.json hold either strings or AddedToken dicts. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

export interface TokenizerFiles {
  tokenizerConfig: Record<string, unknown>;
  specialTokens: Record<string, unknown>;
}

export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  return {
    tokenizerConfig: (await readJson(join(dir, 'tokenizer_config.json'))) ?? {},
    specialTokens: (await readJson(join(dir, 'special_tokens_map.json'))) ?? {},
  };
}

function specialToken(files: TokenizerFiles, key: string, fallback: string): string {
  return tokenContent(files.specialTokens[key]) ?? tokenContent(files.tokenizerConfig[key]) ?? fallback;
}

/** The special tokens that exist in the vocabulary, as `added_tokens` entries sorted by id. */
function collectSpecialTokens(files: TokenizerFiles, vocab: Record<string, number>, defaults: Record<string, string>): AddedToken[] {
  const added = new Map<number, AddedToken>();
  for (const [name, fallback] of Object.entries(defaults)) {
    const content = specialToken(files, name, fallback);
    const id = vocab[content];
    if (id !== undefined) added.set(id, special(id, content));
  }
  return [...added.values()].sort((a, b) => a.id - b.id);
}

function lookup(vocab: Record<string, number>, token: string, file: string): number {
  const id = vocab[token];
  if (id === undefined) throw new ModelError(`${file} has no entry for special token ${token}`);
  return id;
}

/** RoBERTa / GPT-2 byte-level BPE from vocab.json + merges.txt. */
export async function buildByteLevelBpeJson(dir: string, files: TokenizerFiles): Promise<string> {
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  let vocab: Record<string, number>;
  try {
    vocab = JSON.parse(await readFile(vocabPath, 'utf8')) as Record<string, number>;
  } catch (err) {
    throw new ModelError(`${vocabPath} is missing or not valid JSON`, { cause: err });
  }
  const merges = (await readFile(mergesPath, 'utf8'))
    .split('\n')
    .filter((line, i) => line.trim() !== '' && !(i === 0 && line.startsWith('#version')))
    .map((line) => {
      const parts = line.split(' ');
      if (parts.length !== 2) throw new ModelError(`${mergesPath}: malformed merge "${line}"`);
      return parts as [string, string];
    });
  const addPrefixSpace = files.tokenizerConfig.add_prefix_space === true;
  const trimOffsets = files.tokenizerConfig.trim_offsets !== false;
  const added = collectSpecialTokens(files, vocab, {
    bos_token: '<s>', pad_token: '<pad>', eos_token: '</s>', unk_token: '<unk>', cls_token: '<s>', sep_token: '</s>', mask_token: '<mask>',
  });
  const cls = specialToken(files, 'cls_token', '<s>');
  const sep = specialToken(files, 'sep_token', '</s>');
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [sep, lookup(vocab, sep, vocabPath)],
      cls: [cls, lookup(vocab, cls, vocabPath)],
      trim_offsets: trimOffsets,
      add_prefix_space: addPrefixSpace,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  });
}

/** BERT WordPiece from vocab.txt, lower-casing as tokenizer_config's do_lower_case says. */
export async function buildWordPieceJson(dir: string, files: TokenizerFiles): Promise<string> {
  const vocabPath = join(dir, 'vocab.txt');
  const vocab: Record<string, number> = {};
  // transformers' load_vocab: one token per line, trailing newline stripped, ids by line number.
  const lines = (await readFile(vocabPath, 'utf8')).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const token = line.replace(/\r$/, '');
    if (vocab[token] === undefined) vocab[token] = i;
  });
  const lowercase = files.tokenizerConfig.do_lower_case !== false;
  const stripAccents = files.tokenizerConfig.strip_accents ?? null;
  const tokenizeChinese = files.tokenizerConfig.tokenize_chinese_chars !== false;
  const added = collectSpecialTokens(files, vocab, {
    pad_token: '[PAD]', unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]',
  });
  const cls = specialToken(files, 'cls_token', '[CLS]');
  const sep = specialToken(files, 'sep_token', '[SEP]');
  const clsId = lookup(vocab, cls, vocabPath);
  const sepId = lookup(vocab, sep, vocabPath);
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: tokenizeChinese,
      strip_accents: stripAccents,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [clsId], tokens: [cls] },
        [sep]: { id: sep, ids: [sepId], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: specialToken(files, 'unk_token', '[UNK]'),
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  });
}
