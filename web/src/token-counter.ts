import { Tokenizer } from '@huggingface/tokenizers';
import { apiJson } from './api.js';

interface TokenizerFiles {
  model: string;
  max_tokens: number;
  query_prefix: string;
  tokenizer: Record<string, unknown>;
  tokenizer_config: Record<string, unknown>;
}

export interface TokenCount {
  /** The query's tokens, special tokens included: what POST /tokenize gives. */
  tokens: number;
  /** Tokens the search embeds: with the model's query prompt in front. */
  embedded: number;
  maxTokens: number;
  isTruncated: boolean;
}

let loading: Promise<{ tokenizer: Tokenizer; files: TokenizerFiles }> | undefined;

/** The served model's tokenizer, run in the browser (GET /v1/tokenizer, loaded once). */
function load() {
  loading ??= apiJson<TokenizerFiles>('/v1/tokenizer').then((files) => ({ tokenizer: new Tokenizer(files.tokenizer as never, files.tokenizer_config as never), files }));
  loading.catch(() => { loading = undefined; });
  return loading;
}

export function resetTokenizer(): void {
  loading = undefined;
}

/** Counts as the server does (same tokenizer.json, special tokens added); maxTokens: the collection's window. */
export async function countTokens(text: string, maxTokens?: number): Promise<TokenCount> {
  const { tokenizer, files } = await load();
  const tokens = tokenizer.encode(text).ids.length;
  const embedded = files.query_prefix ? tokenizer.encode(files.query_prefix + text).ids.length : tokens;
  const max = maxTokens ?? files.max_tokens;
  return { tokens, embedded, maxTokens: max, isTruncated: embedded > max };
}
