import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../../lib/errors.js';

/**
 * The one list of config.json model_types the converter builds, and the graph each gets.
 * XLM-R and CamemBERT are RoBERTa-shaped.
 */
export const SUPPORTED_MODEL_TYPES: Readonly<Record<string, Architecture>> = {
  bert: 'bert',
  roberta: 'roberta',
  'xlm-roberta': 'roberta',
  camembert: 'roberta',
};
const ROBERTA_LIKE = new Set(Object.keys(SUPPORTED_MODEL_TYPES).filter((t) => SUPPORTED_MODEL_TYPES[t] === 'roberta'));

/** config.json's `architectures` (the transformers classes it was saved from), for messages. */
export function architecturesOf(raw: Record<string, unknown>): string[] {
  return Array.isArray(raw.architectures) ? raw.architectures.filter((a): a is string => typeof a === 'string') : [];
}

export type Architecture = 'roberta' | 'bert';
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
}

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
  const positionType = raw.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new ModelError(`position_embedding_type "${String(positionType)}" is not supported (only "absolute")`);
  }
  const act = ACTIVATIONS[String(raw.hidden_act ?? 'gelu')];
  if (!act) throw new ModelError(`hidden_act "${String(raw.hidden_act)}" is not supported`);
  const int = (key: string, fallback?: number): number => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ModelError(`config.json: ${key} must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const config: EncoderConfig = {
    modelType,
    architecture,
    hiddenSize: int('hidden_size'),
    numLayers: int('num_hidden_layers'),
    numHeads: int('num_attention_heads'),
    intermediateSize: int('intermediate_size'),
    vocabSize: int('vocab_size'),
    maxPositionEmbeddings: int('max_position_embeddings', 512),
    typeVocabSize: int('type_vocab_size', 2),
    padTokenId: padTokenIdOf(raw, architecture),
    layerNormEps: typeof raw.layer_norm_eps === 'number' ? raw.layer_norm_eps : 1e-12,
    hiddenAct: act,
  };
  if (config.hiddenSize % config.numHeads !== 0) {
    throw new ModelError(`hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numHeads}`);
  }
  return config;
}

function padTokenIdOf(raw: Record<string, unknown>, architecture: Architecture): number {
  return typeof raw.pad_token_id === 'number' ? raw.pad_token_id : architecture === 'roberta' ? 1 : 0;
}

/**
 * Token limit and pad id from any config.json, without the full parse a conversion needs
 * (a shipped ONNX export may be of an architecture the converter does not build).
 */
export function tokenLimits(raw: Record<string, unknown>): { maxTokens: number; padTokenId: number } {
  const architecture: Architecture = ROBERTA_LIKE.has(String(raw.model_type)) ? 'roberta' : 'bert';
  const padTokenId = padTokenIdOf(raw, architecture);
  const maxPositionEmbeddings = typeof raw.max_position_embeddings === 'number' ? raw.max_position_embeddings : 512;
  return { maxTokens: maxModelTokens({ architecture, maxPositionEmbeddings, padTokenId }), padTokenId };
}

/**
 * Longest input in tokens, special tokens included. RoBERTa offsets positions by
 * pad_token_id + 1 (514 embeddings give 512 usable positions).
 */
export function maxModelTokens(config: Pick<EncoderConfig, 'architecture' | 'maxPositionEmbeddings' | 'padTokenId'>): number {
  return config.architecture === 'roberta'
    ? config.maxPositionEmbeddings - config.padTokenId - 1
    : config.maxPositionEmbeddings;
}
