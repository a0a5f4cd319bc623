import { activation, attentionBias, fusedLinears, layerNorm, linear, paddedPositions, selfAttention, sequenceLength, type Ctx } from '../graph-ops.js';

/**
 * MPNet (transformers' MPNetModel): RoBERTa-style padded positions without token types, and a
 * T5-style relative position bias (encoder.relative_attention_bias, one table shared by every
 * layer) added to the attention scores before the mask.
 */
export async function buildMpnet(ctx: Ctx, inputIds: string, attentionMask: string): Promise<string> {
  const { g, w, cfg } = ctx;
  const H = cfg.hiddenSize;
  const word = g.weight('word_embeddings', await w.read('embeddings.word_embeddings.weight', [cfg.vocabSize, H]), [cfg.vocabSize, H]);
  const pos = g.weight('position_embeddings', await w.read('embeddings.position_embeddings.weight', [cfg.maxPositionEmbeddings, H]), [cfg.maxPositionEmbeddings, H]);
  // MPNetEmbeddings hard-codes padding_idx 1 for its positions, whatever pad_token_id says.
  const positionIds = paddedPositions(ctx, inputIds, 1);
  const embedded = g.node('Add', [g.node('Gather', [word, inputIds], { axis: 0 }), g.node('Gather', [pos, positionIds], { axis: 0 })]);
  let hidden = await layerNorm(ctx, embedded, { name: 'embeddings.LayerNorm', onnxName: 'embeddings_ln' });

  const maskBias = attentionBias(ctx, attentionMask);
  const positionBias = await relativePositionBias(ctx, inputIds);
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    const p = `encoder.layer.${layer}`;
    const attn = `${p}.attention.attn`;
    const qkv = await fusedLinears(ctx, hidden, { names: [`${attn}.q`, `${attn}.k`, `${attn}.v`], fusedName: `${attn}.qkv`, dim: H });
    const context = selfAttention(ctx, { qkv, maskBias, scoreBias: positionBias });
    const attnOut = await linear(ctx, context, { name: `${attn}.o`, inDim: H, outDim: H });
    const attnNorm = await layerNorm(ctx, g.node('Add', [attnOut, hidden]), { name: `${p}.attention.LayerNorm`, onnxName: `${p}.attn_ln` });
    const up = await linear(ctx, attnNorm, { name: `${p}.intermediate.dense`, inDim: H, outDim: cfg.intermediateSize });
    const out = await linear(ctx, activation(g, cfg.hiddenAct, up), { name: `${p}.output.dense`, inDim: cfg.intermediateSize, outDim: H, perToken: true });
    hidden = await layerNorm(ctx, g.node('Add', [out, attnNorm]), { name: `${p}.output.LayerNorm`, onnxName: `${p}.out_ln` });
  }
  return hidden;
}

/**
 * [1, heads, seq, seq] bias. The bucket of every relative distance a sequence can have is
 * computed here, at conversion, into a [2L−1, heads] table of bias rows; the graph only
 * gathers from it by (key − query + L − 1).
 */
async function relativePositionBias(ctx: Ctx, inputIds: string): Promise<string> {
  const { g, w, cfg } = ctx;
  const heads = cfg.numHeads;
  // MPNetEncoder.compute_position_bias is called with its default of 32 buckets whatever
  // relative_attention_num_buckets says; the table has relative_attention_num_buckets rows.
  const tableRows = cfg.relativeAttentionNumBuckets ?? 32;
  const buckets = await w.read('encoder.relative_attention_bias.weight', [tableRows, heads]);
  const L = cfg.maxPositionEmbeddings;
  const table = new Float32Array((2 * L - 1) * heads);
  for (let r = -(L - 1); r <= L - 1; r++) {
    const bucket = mpnetBucket(r, 32, 128);
    table.set(buckets.subarray(bucket * heads, (bucket + 1) * heads), (r + L - 1) * heads);
  }
  const tableName = g.weight('relative_position_bias_by_distance', table, [2 * L - 1, heads]);

  const seq = sequenceLength(g, inputIds);
  const steps = g.node('Range', [g.constInt64([0], []), g.node('Squeeze', [seq, g.constInt64([0])]), g.constInt64([1], [])]);
  const keys = g.node('Unsqueeze', [steps, g.constInt64([0])]);
  const queries = g.node('Unsqueeze', [steps, g.constInt64([1])]);
  const distance = g.node('Add', [g.node('Sub', [keys, queries]), g.constInt64([L - 1], [])]);
  const bias = g.node('Gather', [tableName, distance], { axis: 0 }); // [seq, seq, heads]
  return g.node('Unsqueeze', [g.node('Transpose', [bias], { perm: [2, 0, 1] }), g.constInt64([0])]);
}

/**
 * MPNetEncoder.relative_position_bucket for one distance (key − query), with torch's float32
 * arithmetic (Math.fround at each step) so boundary distances land in the same bucket.
 */
export function mpnetBucket(relative: number, numBuckets: number, maxDistance: number): number {
  const half = numBuckets / 2;
  let n = -relative;
  let ret = n < 0 ? half : 0;
  n = Math.abs(n);
  const maxExact = half / 2;
  if (n < maxExact) return ret + n;
  const f = Math.fround;
  const scaled = f(f(f(Math.log(f(n / maxExact))) / f(Math.log(maxDistance / maxExact))) * (half - maxExact));
  ret += Math.min(maxExact + Math.trunc(scaled), half - 1);
  return ret;
}
