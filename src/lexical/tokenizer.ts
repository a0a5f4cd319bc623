import { stemPorter } from './porter-stemmer.js';

export interface TokenizerOptions {
  /** Porter-stem purely alphabetic tokens (tokens with digits, e.g. gene symbols, are kept as written). */
  shouldStem: boolean;
  /** Also emit the parts of a hyphenated token (`IL-6` → `il-6`, `il`, `6`), so `anti-inflammatory` meets `anti inflammatory`. */
  shouldSplitHyphens: boolean;
  /** Drop Lucene's English stop words. */
  shouldDropStopWords: boolean;
}

/** Chosen on SciFact (see README, hybrid search): each of the three raised BM25 nDCG@10. */
export const DEFAULT_TOKENIZER: TokenizerOptions = { shouldStem: true, shouldSplitHyphens: true, shouldDropStopWords: true };

// Lucene's EnglishAnalyzer stop set, which Anserini's BEIR baselines use.
const STOP_WORDS = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of', 'on', 'or',
  'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
]);

// Letters, marks and digits, joined by inner hyphens (`COVID-19`, `IL-6`, `TNF-α`) or by a
// dot between digits (`0.05`). Any dash-like character counts as a hyphen.
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:(?:[-\u2010-\u2013]|(?<=\p{N})\.(?=\p{N}))[\p{L}\p{M}\p{N}]+)*/gu;
const HYPHENS = /[-\u2010-\u2013]/;
const ALPHABETIC = /^[a-z]+$/;

/**
 * The words of a text for BM25: NFKC, lower case, Unicode word boundaries that keep
 * biomedical tokens (`BRCA1`, `IL-6`, `COVID-19`) whole, an English possessive `'s` dropped.
 * Documents and queries must go through the same options.
 */
export function tokenize(text: string, options: TokenizerOptions = DEFAULT_TOKENIZER): string[] {
  const out: string[] = [];
  const normalised = text.normalize('NFKC').toLowerCase().replace(/['\u2019]s\b/g, '');
  for (const match of normalised.matchAll(TOKEN)) {
    const token = match[0].replace(/[\u2010-\u2013]/g, '-');
    push(out, token, options);
    if (options.shouldSplitHyphens && HYPHENS.test(token)) for (const part of token.split('-')) push(out, part, options);
  }
  return out;
}

function push(out: string[], token: string, options: TokenizerOptions): void {
  if (options.shouldDropStopWords && STOP_WORDS.has(token)) return;
  out.push(options.shouldStem && ALPHABETIC.test(token) ? stemPorter(token) : token);
}
