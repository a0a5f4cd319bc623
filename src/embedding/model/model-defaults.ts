import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pooling } from '../pooling.js';
import type { Prompts } from '../embedder.js';
import { knownPrompts } from './known-prompts.js';

export interface ModelDefaults {
  pooling: Pooling | undefined;
  normalize: boolean | undefined;
  /** sentence_bert_config.json max_seq_length: the length the model was trained and evaluated at. */
  maxSeqLength: number | undefined;
  /** Its prompts; '' where it has none. */
  prompts: Prompts;
}

const readJson = async (dir: string, file: string): Promise<Record<string, unknown> | undefined> => {
  try {
    return JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/**
 * What a sentence-transformers model says about its own use (1_Pooling/config.json,
 * modules.json, sentence_bert_config.json, the prompts in config_sentence_transformers.json),
 * so `auto` settings embed MiniLM or bge the way their authors evaluated them. A plain
 * transformers checkpoint says nothing, and biovec falls back to CLS and no prompts.
 */
export async function readModelDefaults(dir: string, modelId: string): Promise<ModelDefaults> {
  const poolingConfig = await readJson(dir, '1_Pooling/config.json');
  const modules = (await readJson(dir, 'modules.json')) as unknown;
  const bertConfig = await readJson(dir, 'sentence_bert_config.json');
  const stConfig = await readJson(dir, 'config_sentence_transformers.json');
  let pooling: Pooling | undefined;
  if (poolingConfig?.pooling_mode_cls_token === true) pooling = 'cls';
  else if (poolingConfig?.pooling_mode_mean_tokens === true) pooling = 'mean';
  const normalize = Array.isArray(modules)
    ? modules.some((m: { type?: unknown }) => typeof m.type === 'string' && m.type.endsWith('models.Normalize'))
    : undefined;
  const maxSeqLength = typeof bertConfig?.max_seq_length === 'number' && bertConfig.max_seq_length > 0 ? bertConfig.max_seq_length : undefined;
  return { pooling, normalize, maxSeqLength, prompts: promptsOf(stConfig?.prompts, modelId) };
}

/**
 * sentence-transformers names prompts freely; "query" is universal, and documents go by
 * "document", "passage" or "corpus" in MTEB-era models. Many models predate the prompts
 * field (bge v1.5, e5) and document theirs only in a model card: those come from a table.
 */
function promptsOf(raw: unknown, modelId: string): Prompts {
  const stated = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const pick = (...names: string[]) => names.map((n) => stated[n]).find((v): v is string => typeof v === 'string');
  const query = pick('query');
  const document = pick('document', 'passage', 'corpus');
  if (query !== undefined || document !== undefined) {
    return { query: query ?? '', document: document ?? '' };
  }
  return knownPrompts(modelId) ?? { query: '', document: '' };
}
