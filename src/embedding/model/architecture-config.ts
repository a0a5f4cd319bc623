import { ModelError } from '../../lib/errors.js';

/** The settings of architectures that need more than BERT's, parsed from config.json. */
export interface ModernBertConfig {
  /** Per layer: global (full) attention or the sliding window. */
  layerTypes: ('full' | 'sliding')[];
  globalRopeTheta: number;
  localRopeTheta: number;
  /** A sliding layer's query sees keys at |q − k| ≤ localWindow (local_attention / 2). */
  localWindow: number;
  normBias: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
}

export interface DebertaConfig {
  embeddingSize: number;
  positionBiasedInput: boolean;
  relativeAttention: boolean;
  /** ≤ 0: no log buckets (plain clamped distances). */
  positionBuckets: number;
  maxRelativePositions: number;
  c2p: boolean;
  p2c: boolean;
  shareAttKey: boolean;
  normRelEmbedding: boolean;
}

/**
 * ModernBERT's layout, from either config style: transformers ≥ 5 writes layer_types and
 * rope_parameters, the published checkpoints global_attn_every_n_layers and *_rope_theta.
 */
export function parseModernBert(raw: Record<string, unknown>, numLayers: number): ModernBertConfig {
  const every = typeof raw.global_attn_every_n_layers === 'number' ? raw.global_attn_every_n_layers : 3;
  const stated = Array.isArray(raw.layer_types) ? raw.layer_types : undefined;
  const layerTypes = Array.from({ length: numLayers }, (_, i): 'full' | 'sliding' => {
    const t = stated ? stated[i] : i % every ? 'sliding_attention' : 'full_attention';
    if (t === 'full_attention') return 'full';
    if (t === 'sliding_attention') return 'sliding';
    throw new ModelError(`modernbert: layer_types[${i}] "${String(t)}" is not supported (full_attention or sliding_attention)`);
  });
  const rope = (raw.rope_parameters ?? {}) as Record<string, { rope_theta?: unknown; rope_type?: unknown } | undefined>;
  const theta = (type: string, legacy: string, fallback: number): number => {
    const params = rope[type];
    if (params?.rope_type !== undefined && params.rope_type !== 'default') {
      throw new ModelError(`modernbert: rope_type "${String(params.rope_type)}" is not supported (only "default" rotary positions)`);
    }
    const value = params?.rope_theta ?? raw[legacy] ?? fallback;
    if (typeof value !== 'number' || value <= 0) throw new ModelError(`config.json: ${legacy} must be a positive number`);
    return value;
  };
  const flag = (name: string) => raw[name] === true;
  const localAttention = typeof raw.local_attention === 'number' ? raw.local_attention : 128;
  return {
    layerTypes,
    globalRopeTheta: theta('full_attention', 'global_rope_theta', 160000),
    localRopeTheta: theta('sliding_attention', 'local_rope_theta', 10000),
    localWindow: Math.floor(localAttention / 2),
    normBias: flag('norm_bias'),
    attentionBias: flag('attention_bias'),
    mlpBias: flag('mlp_bias'),
  };
}

/** DeBERTa-v2/v3 as DebertaV2Model reads its config; the v2-xlarge conv layer is refused. */
export function parseDeberta(raw: Record<string, unknown>, hiddenSize: number, maxPositions: number): DebertaConfig {
  if (typeof raw.conv_kernel_size === 'number' && raw.conv_kernel_size > 0) {
    throw new ModelError('deberta-v2: conv_kernel_size > 0 (the DeBERTa-v2 xlarge/xxlarge convolution layer) is not supported; DeBERTa-v3 and v2 models without it are');
  }
  if (typeof raw.attention_head_size === 'number' && typeof raw.num_attention_heads === 'number' && raw.attention_head_size * raw.num_attention_heads !== hiddenSize) {
    throw new ModelError('deberta-v2: attention_head_size × num_attention_heads must equal hidden_size');
  }
  const types = (Array.isArray(raw.pos_att_type) ? raw.pos_att_type.map(String) : String(raw.pos_att_type ?? '').split('|'))
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '' && t !== 'none');
  const unknown = types.filter((t) => t !== 'c2p' && t !== 'p2c');
  if (unknown.length) throw new ModelError(`deberta-v2: pos_att_type ${unknown.join(', ')} is not supported (c2p and p2c are)`);
  const norm = String(raw.norm_rel_ebd ?? 'none').toLowerCase().split('|').map((t) => t.trim());
  const maxRelative = typeof raw.max_relative_positions === 'number' && raw.max_relative_positions >= 1 ? raw.max_relative_positions : maxPositions;
  return {
    embeddingSize: typeof raw.embedding_size === 'number' ? raw.embedding_size : hiddenSize,
    positionBiasedInput: raw.position_biased_input !== false,
    relativeAttention: raw.relative_attention === true,
    positionBuckets: typeof raw.position_buckets === 'number' ? raw.position_buckets : -1,
    maxRelativePositions: maxRelative,
    c2p: types.includes('c2p'),
    p2c: types.includes('p2c'),
    shareAttKey: raw.share_att_key === true,
    normRelEmbedding: norm.includes('layer_norm'),
  };
}
