import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../../lib/errors.js';
import { parseDeberta, parseModernBert, type DebertaConfig, type ModernBertConfig } from './architecture-config.js';

export type { DebertaConfig, ModernBertConfig } from './architecture-config.js';

/**
 * The one list of config.json model_types the converter builds, and the graph each gets.
 * XLM-R and CamemBERT are RoBERTa-shaped.
 */
export const SUPPORTED_MODEL_TYPES: Readonly<Record<string, Architecture>> = {
  bert: 'bert',
  roberta: 'roberta',
  'xlm-roberta': 'roberta',
  camembert: 'roberta',
  mpnet: 'mpnet',
  distilbert: 'distilbert',
  electra: 'electra',
  modernbert: 'modernbert',
  'deberta-v2': 'deberta-v2',
};

/** Architectures whose positions count from pad_token_id + 1 (create_position_ids_from_input_ids). */
const PADDED_POSITIONS: ReadonlySet<Architecture> = new Set(['roberta', 'mpnet']);

/** config.json's `architectures` (the transformers classes it was saved from), for messages. */
export function architecturesOf(raw: Record<string, unknown>): string[] {
  return Array.isArray(raw.architectures) ? raw.architectures.filter((a): a is string => typeof a === 'string') : [];
}

export type Architecture = 'roberta' | 'bert' | 'mpnet' | 'distilbert' | 'electra' | 'modernbert' | 'deberta-v2';
export type HiddenAct = 'gelu' | 'gelu_new' | 'relu';

export interface EncoderConfig {
  modelType: string;
  architecture: Architecture;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  padTokenId: number;
  layerNormEps: number;
  hiddenAct: HiddenAct;
  /** ELECTRA: width of the embeddings before embeddings_project. */
  embeddingSize?: number;
  /** MPNet: rows of encoder.relative_attention_bias. */
  relativeAttentionNumBuckets?: number;
  modernbert?: ModernBertConfig;
  deberta?: DebertaConfig;
}

/** Where a config.json names the same settings differently. */
const KEY_ALIASES: Partial<Record<Architecture, Readonly<Record<string, string>>>> = {
  distilbert: { hidden_size: 'dim', num_hidden_layers: 'n_layers', num_attention_heads: 'n_heads', intermediate_size: 'hidden_dim', hidden_act: 'activation' },
  modernbert: { hidden_act: 'hidden_activation', layer_norm_eps: 'norm_eps' },
};

/** The config classes' defaults where they are not BERT's 1e-12. */
const LAYER_NORM_EPS_DEFAULTS: Partial<Record<Architecture, number>> = { 'deberta-v2': 1e-7, modernbert: 1e-5 };

const ACTIVATIONS: Record<string, HiddenAct> = {
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  relu: 'relu',
};

/** Reads config.json as transformers writes it. Throws ModelError naming what is unsupported. */
export async function readModelConfig(dir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(dir, 'config.json'), 'utf8');
  } catch {
    throw new ModelError(`${dir} has no config.json; point --model at a Hugging Face model directory`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ModelError(`${join(dir, 'config.json')} is not valid JSON`);
  }
}

export function parseEncoderConfig(raw: Record<string, unknown>): EncoderConfig {
  const modelType = String(raw.model_type ?? 'unknown');
  const architecture = Object.hasOwn(SUPPORTED_MODEL_TYPES, modelType) ? SUPPORTED_MODEL_TYPES[modelType] : undefined;
  if (!architecture) {
    const classes = architecturesOf(raw);
    throw new ModelError(
      `model_type "${modelType}" is not supported by the checkpoint converter${classes.length ? ` (architectures: ${classes.join(', ')})` : ''}: ` +
        `it builds the encoder graphs of model_type ${Object.keys(SUPPORTED_MODEL_TYPES).join(', ')} only; ` +
        'export the model to ONNX and give its model.onnx instead',
    );
  }
  const key = (name: string) => KEY_ALIASES[architecture]?.[name] ?? name;
  const positionType = raw.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new ModelError(`${modelType}: position_embedding_type "${String(positionType)}" is not supported (only "absolute")`);
  }
  const actName = String(raw[key('hidden_act')] ?? 'gelu');
  const act = ACTIVATIONS[actName];
  if (!act) throw new ModelError(`${modelType}: hidden_act "${actName}" is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  const int = (name: string, fallback?: number): number => {
    const value = raw[key(name)] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ModelError(`config.json: ${key(name)} must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  // Optional fields are only set for their architecture: BERT's config (and so its cache key) is unchanged.
  const config: EncoderConfig = {
    modelType,
    architecture,
    hiddenSize: int('hidden_size'),
    numLayers: int('num_hidden_layers'),
    numHeads: int('num_attention_heads'),
    intermediateSize: int('intermediate_size'),
    vocabSize: int('vocab_size'),
    maxPositionEmbeddings: int('max_position_embeddings', 512),
    // DeBERTa-v3 has no token types (type_vocab_size 0, DebertaV2Config's default).
    typeVocabSize: architecture === 'deberta-v2' && (raw.type_vocab_size ?? 0) === 0 ? 0 : int('type_vocab_size', 2),
    padTokenId: padTokenIdOf(raw, architecture),
    layerNormEps: typeof raw[key('layer_norm_eps')] === 'number' ? (raw[key('layer_norm_eps')] as number) : (LAYER_NORM_EPS_DEFAULTS[architecture] ?? 1e-12),
    hiddenAct: act,
    ...(architecture === 'electra' ? { embeddingSize: int('embedding_size', 128) } : {}),
    ...(architecture === 'mpnet' ? { relativeAttentionNumBuckets: int('relative_attention_num_buckets', 32) } : {}),
    ...(architecture === 'modernbert' ? { modernbert: parseModernBert(raw, int('num_hidden_layers')) } : {}),
    ...(architecture === 'deberta-v2' ? { deberta: parseDeberta(raw, int('hidden_size'), int('max_position_embeddings', 512)) } : {}),
  };
  if (config.hiddenSize % config.numHeads !== 0) {
    throw new ModelError(`hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numHeads}`);
  }
  return config;
}

function padTokenIdOf(raw: Record<string, unknown>, architecture: Architecture): number {
  return typeof raw.pad_token_id === 'number' ? raw.pad_token_id : PADDED_POSITIONS.has(architecture) ? 1 : 0;
}

/**
 * Token limit and pad id from any config.json, without the full parse a conversion needs
 * (a shipped ONNX export may be of an architecture the converter does not build).
 */
export function tokenLimits(raw: Record<string, unknown>): { maxTokens: number; padTokenId: number } {
  const modelType = String(raw.model_type);
  const architecture: Architecture = (Object.hasOwn(SUPPORTED_MODEL_TYPES, modelType) ? SUPPORTED_MODEL_TYPES[modelType] : undefined) ?? 'bert';
  const padTokenId = padTokenIdOf(raw, architecture);
  const maxPositionEmbeddings = typeof raw.max_position_embeddings === 'number' ? raw.max_position_embeddings : 512;
  return { maxTokens: maxModelTokens({ architecture, maxPositionEmbeddings, padTokenId }), padTokenId };
}

/**
 * Longest input in tokens, special tokens included. RoBERTa and MPNet offset positions by
 * pad_token_id + 1 (514 embeddings give 512 usable positions).
 */
export function maxModelTokens(config: Pick<EncoderConfig, 'architecture' | 'maxPositionEmbeddings' | 'padTokenId'>): number {
  return PADDED_POSITIONS.has(config.architecture)
    ? config.maxPositionEmbeddings - config.padTokenId - 1
    : config.maxPositionEmbeddings;
}
