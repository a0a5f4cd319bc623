import { activation, attentionBias, layerNorm, linear, mergeHeads, sequenceLength, toHeads, type Ctx } from '../graph-ops.js';
import type { DebertaConfig } from '../../model/architecture-config.js';

/**
 * DeBERTa-v2/v3 (transformers' DebertaV2Model): BERT-shaped post-norm layers whose attention
 * adds disentangled content→position (c2p) and position→content (p2c) terms over log-bucketed
 * relative positions, from one shared, LayerNorm'd table of relative embeddings
 * (encoder.rel_embeddings) projected by each layer's own key/query weights (share_att_key)
 * or by its pos_key_proj/pos_query_proj.
 */
export async function buildDebertaV2(ctx: Ctx, inputIds: string, attentionMask: string): Promise<string> {
  const { g, cfg } = ctx;
  const db = cfg.deberta;
  if (!db) throw new Error('bug: deberta-v2 graph without its config');
  let hidden = await embeddings(ctx, db, inputIds, attentionMask);
  const maskBias = attentionBias(ctx, attentionMask);
  const rel = db.relativeAttention ? await relativeInputs(ctx, db, inputIds) : undefined;
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    const p = `encoder.layer.${layer}`;
    const context = await disentangledAttention(ctx, { p, x: hidden, maskBias, rel, db });
    const H = cfg.hiddenSize;
    const attnOut = await linear(ctx, context, { name: `${p}.attention.output.dense`, inDim: H, outDim: H });
    const attnNorm = await layerNorm(ctx, g.node('Add', [attnOut, hidden]), { name: `${p}.attention.output.LayerNorm`, onnxName: `${p}.attn_ln` });
    const up = await linear(ctx, attnNorm, { name: `${p}.intermediate.dense`, inDim: H, outDim: cfg.intermediateSize });
    const out = await linear(ctx, activation(g, cfg.hiddenAct, up), { name: `${p}.output.dense`, inDim: cfg.intermediateSize, outDim: H, perToken: true });
    hidden = await layerNorm(ctx, g.node('Add', [out, attnNorm]), { name: `${p}.output.LayerNorm`, onnxName: `${p}.out_ln` });
  }
  return hidden;
}

async function embeddings(ctx: Ctx, db: DebertaConfig, inputIds: string, attentionMask: string): Promise<string> {
  const { g, w, cfg } = ctx;
  const E = db.embeddingSize;
  const word = g.weight('word_embeddings', await w.read('embeddings.word_embeddings.weight', [cfg.vocabSize, E]), [cfg.vocabSize, E]);
  let x = g.node('Gather', [word, inputIds], { axis: 0 });
  if (db.positionBiasedInput) {
    const steps = g.node('Range', [g.constInt64([0], []), g.node('Squeeze', [sequenceLength(g, inputIds), g.constInt64([0])]), g.constInt64([1], [])]);
    const pos = g.weight('position_embeddings', await w.read('embeddings.position_embeddings.weight', [cfg.maxPositionEmbeddings, E]), [cfg.maxPositionEmbeddings, E]);
    x = g.node('Add', [x, g.node('Gather', [pos, steps], { axis: 0 })]);
  }
  if (cfg.typeVocabSize > 0) {
    const types = await w.read('embeddings.token_type_embeddings.weight', [cfg.typeVocabSize, E]);
    x = g.node('Add', [x, g.weight('token_type_embedding_0', types.slice(0, E), [E])]);
  }
  if (E !== cfg.hiddenSize) x = await linear(ctx, x, { name: 'embeddings.embed_proj', inDim: E, outDim: cfg.hiddenSize, hasBias: false });
  const normed = await layerNorm(ctx, x, { name: 'embeddings.LayerNorm', onnxName: 'embeddings_ln' });
  // DebertaV2Embeddings zeroes padding positions after the norm.
  return g.node('Mul', [normed, g.node('Unsqueeze', [g.node('Cast', [attentionMask], { to: 1 }), g.constInt64([-1])])]);
}

interface RelativeInputs {
  /** [2·span, hidden]: encoder.rel_embeddings, normalised if norm_rel_ebd says so. */
  table: string;
  /** int64 [seq, seq]: row of the table for (query, key), and its transpose. */
  index: string;
  indexT: string;
  span: number;
}

async function relativeInputs(ctx: Ctx, db: DebertaConfig, inputIds: string): Promise<RelativeInputs> {
  const { g, w, cfg } = ctx;
  const H = cfg.hiddenSize;
  const span = db.positionBuckets > 0 ? db.positionBuckets : db.maxRelativePositions;
  let table = g.weight('rel_embeddings', await w.read('encoder.rel_embeddings.weight', [2 * span, H]), [2 * span, H]);
  if (db.normRelEmbedding) table = await layerNorm(ctx, table, { name: 'encoder.LayerNorm', onnxName: 'rel_embeddings_ln' });

  // Every distance q − k a sequence can have → clamp(bucket(q − k) + span, 0, 2·span − 1),
  // computed here; the graph gathers by (q − k + L − 1). c2p and p2c both index with it
  // (p2c's gather-then-transpose in transformers lands on the same rows, buckets being odd).
  const L = cfg.maxPositionEmbeddings;
  const byDistance = Array.from({ length: 2 * L - 1 }, (_, i) => {
    const distance = i - (L - 1);
    const bucket = db.positionBuckets > 0 ? logBucket(distance, db.positionBuckets, db.maxRelativePositions) : distance;
    return Math.min(Math.max(bucket + span, 0), 2 * span - 1);
  });
  const steps = g.node('Range', [g.constInt64([0], []), g.node('Squeeze', [sequenceLength(g, inputIds), g.constInt64([0])]), g.constInt64([1], [])]);
  const distance = g.node('Sub', [g.node('Unsqueeze', [steps, g.constInt64([1])]), g.node('Unsqueeze', [steps, g.constInt64([0])])]);
  const index = g.node('Gather', [g.constInt64(byDistance), g.node('Add', [distance, g.constInt64([L - 1], [])])], { axis: 0 });
  return { table, index, indexT: g.node('Transpose', [index], { perm: [1, 0] }), span };
}

/**
 * transformers' make_log_bucket_position for one distance, with torch's float32 steps
 * (Math.fround) so a distance on a bucket boundary rounds the same way.
 */
export function logBucket(relative: number, bucketSize: number, maxPosition: number): number {
  const f = Math.fround;
  const mid = Math.floor(bucketSize / 2);
  const abs = relative < mid && relative > -mid ? mid - 1 : Math.abs(relative);
  if (abs <= mid) return relative;
  const ratio = f(f(Math.log(f(abs / mid))) / f(Math.log(f((maxPosition - 1) / mid))));
  return Math.sign(relative) * (Math.ceil(f(ratio * (mid - 1))) + mid);
}

async function disentangledAttention(
  ctx: Ctx,
  a: { p: string; x: string; maskBias: string; rel: RelativeInputs | undefined; db: DebertaConfig },
): Promise<string> {
  const { g, cfg } = ctx;
  const H = cfg.hiddenSize;
  const heads = cfg.numHeads;
  const headDim = H / heads;
  const self = `${a.p}.attention.self`;
  const proj = (x: string, name: string, onnxName?: string) => linear(ctx, x, { name: `${self}.${name}`, inDim: H, outDim: H, onnxName });
  const qh = toHeads(g, await proj(a.x, 'query_proj'), heads, [0, 2, 1, 3]);
  const kh = toHeads(g, await proj(a.x, 'key_proj'), heads, [0, 2, 1, 3]);
  const vh = toHeads(g, await proj(a.x, 'value_proj'), heads, [0, 2, 1, 3]);
  const scaleFactor = 1 + (a.db.c2p ? 1 : 0) + (a.db.p2c ? 1 : 0);
  const scale = g.constFloat([Math.fround(Math.sqrt(headDim * scaleFactor))]);
  let scores = g.node('Div', [g.node('MatMul', [qh, g.node('Transpose', [kh], { perm: [0, 1, 3, 2] })]), scale]);

  if (a.rel) {
    // [2·span, H] → [heads, headDim, 2·span], ready to multiply [batch, heads, seq, headDim] by.
    const posHeads = (t: string) => g.node('Transpose', [g.node('Reshape', [t, g.constInt64([0, heads, headDim])])], { perm: [1, 2, 0] });
    // [batch, heads, seq, seq] target shape for gathering per (query, key).
    const square = g.node('Concat', [g.node('Slice', [g.node('Shape', [qh]), g.constInt64([0]), g.constInt64([3])]), sequenceLength(g, a.x)], { axis: 0 });
    if (a.db.c2p) {
      const posKey = posHeads(await proj(a.rel.table, a.db.shareAttKey ? 'key_proj' : 'pos_key_proj', `${self}.pos_key`));
      const c2p = g.node('GatherElements', [g.node('MatMul', [qh, posKey]), g.node('Expand', [a.rel.index, square])], { axis: -1 });
      scores = g.node('Add', [scores, g.node('Div', [c2p, scale])]);
    }
    if (a.db.p2c) {
      const posQuery = posHeads(await proj(a.rel.table, a.db.shareAttKey ? 'query_proj' : 'pos_query_proj', `${self}.pos_query`));
      const byKey = g.node('GatherElements', [g.node('MatMul', [kh, posQuery]), g.node('Expand', [a.rel.indexT, square])], { axis: -1 });
      scores = g.node('Add', [scores, g.node('Div', [g.node('Transpose', [byKey], { perm: [0, 1, 3, 2] }), scale])]);
    }
  }
  scores = g.node('Add', [scores, a.maskBias]);
  return mergeHeads(g, g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), vh]), H);
}
