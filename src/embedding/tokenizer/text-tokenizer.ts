import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { ModelError } from '../../lib/errors.js';
import { buildByteLevelBpeJson, buildWordPieceJson, readTokenizerFiles } from './tokenizer-json.js';

export interface Encoded {
  /** Token ids, special tokens included when asked for. */
  ids: Int32Array;
  /** [start, end) of each token in the input string, as UTF-16 indices (JS string.slice). */
  offsets: Uint32Array;
}

export type TokenizerKind = 'tokenizer.json' | 'bpe' | 'wordpiece';

const exists = (path: string) => access(path).then(() => true, () => false);

/**
 * A Hugging Face tokenizer run by the Rust `tokenizers` library (the engine behind
 * transformers' fast tokenizers, so ids are theirs by construction). Encoding runs off the
 * JS thread.
 */
export class TextTokenizer {
  private constructor(
    private readonly inner: Tokenizer,
    readonly kind: TokenizerKind,
    /** Special tokens a single sequence starts and ends with ([CLS]/<s> and [SEP]/</s>). */
    readonly prefixIds: Int32Array,
    readonly suffixIds: Int32Array,
    /** model_max_length / max_len from tokenizer_config.json, when it states one. */
    readonly configMaxLength: number | undefined,
    /** The tokenizer.json this runs (built from the slow-tokenizer files where there was none), for browsers (issue 13). */
    readonly json: string,
    readonly tokenizerConfig: Record<string, unknown>,
  ) {}

  /** Loads tokenizer.json, else vocab.json + merges.txt, else vocab.txt. Throws ModelError. */
  static async load(dir: string): Promise<TextTokenizer> {
    const files = await readTokenizerFiles(dir);
    let inner: Tokenizer;
    let kind: TokenizerKind;
    let json: string;
    try {
      if (await exists(join(dir, 'tokenizer.json'))) {
        json = await readFile(join(dir, 'tokenizer.json'), 'utf8');
        inner = Tokenizer.fromString(json);
        kind = 'tokenizer.json';
      } else if ((await exists(join(dir, 'vocab.json'))) && (await exists(join(dir, 'merges.txt')))) {
        inner = Tokenizer.fromString((json = await buildByteLevelBpeJson(dir, files)));
        kind = 'bpe';
      } else if (await exists(join(dir, 'vocab.txt'))) {
        inner = Tokenizer.fromString((json = await buildWordPieceJson(dir, files)));
        kind = 'wordpiece';
      } else {
        throw new ModelError(`${dir} has no tokenizer: expected tokenizer.json, vocab.json + merges.txt, or vocab.txt`);
      }
    } catch (err) {
      if (err instanceof ModelError) throw err;
      throw new ModelError(`could not load the tokenizer in ${dir}: ${(err as Error).message}`, { cause: err });
    }
    // Exported tokenizer.json files often carry padding and truncation settings (MiniLM's pads
    // to 128): biovec pads, truncates and chunks itself, and must see every real token.
    inner.disablePadding();
    inner.disableTruncation();
    const probe = await inner.encode('a', null, { addSpecialTokens: true });
    const mask = probe.getSpecialTokensMask();
    const ids = probe.getIds();
    const firstContent = mask.indexOf(0);
    const lastContent = mask.lastIndexOf(0);
    const cfg = files.tokenizerConfig;
    const stated = [cfg.model_max_length, cfg.max_len].find((v) => typeof v === 'number' && v > 0 && v < 1e9);
    return new TextTokenizer(
      inner,
      kind,
      Int32Array.from(ids.slice(0, firstContent)),
      Int32Array.from(ids.slice(lastContent + 1)),
      stated as number | undefined,
      json,
      cfg,
    );
  }

  get specialTokenCount(): number {
    return this.prefixIds.length + this.suffixIds.length;
  }

  /** Encodes texts in parallel (Rust threads). Texts must be well-formed strings. */
  async encodeBatch(texts: string[], opts: { addSpecialTokens: boolean }): Promise<Encoded[]> {
    const encodings = await this.inner.encodeBatch(texts, { addSpecialTokens: opts.addSpecialTokens });
    return encodings.map((enc, i) => ({
      ids: Int32Array.from(enc.getIds()),
      offsets: toUtf16Offsets(texts[i]!, enc.getOffsets()),
    }));
  }

  async encode(text: string, opts: { addSpecialTokens: boolean }): Promise<Encoded> {
    return (await this.encodeBatch([text], opts))[0]!;
  }

  async decode(ids: number[]): Promise<string> {
    return this.inner.decode(ids, true);
  }

  /** Decodes each id list; special tokens dropped when asked (transformers' skip_special_tokens). */
  async decodeBatch(ids: number[][], opts: { skipSpecialTokens: boolean }): Promise<string[]> {
    return this.inner.decodeBatch(ids, opts.skipSpecialTokens);
  }

  /** The vocabulary string of an id (`Ġword`, `<s>`), or undefined outside the vocabulary. */
  tokenString(id: number): string | undefined {
    return this.inner.idToToken(id) ?? undefined;
  }

  vocabSize(): number {
    return this.inner.getVocabSize(true);
  }
}

/** `tokenizers` reports offsets in Unicode code points; JS strings index UTF-16 code units. */
function toUtf16Offsets(text: string, offsets: number[][]): Uint32Array {
  const out = new Uint32Array(offsets.length * 2);
  if (!/[\uD800-\uDFFF]/.test(text)) {
    offsets.forEach(([s, e], i) => {
      out[2 * i] = s!;
      out[2 * i + 1] = e!;
    });
    return out;
  }
  const codePointToUnit: number[] = [];
  let unit = 0;
  for (const ch of text) {
    codePointToUnit.push(unit);
    unit += ch.length;
  }
  codePointToUnit.push(unit);
  offsets.forEach(([s, e], i) => {
    out[2 * i] = codePointToUnit[s!] ?? unit;
    out[2 * i + 1] = codePointToUnit[e!] ?? unit;
  });
  return out;
}
