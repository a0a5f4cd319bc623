import { activation, attentionBias, layerAttention, layerNorm, linear, sequentialPositions, type Ctx } from '../graph-ops.js';

/** DistilBERT hard-codes its LayerNorm epsilon (config.json has none). */
const DISTILBERT_LN_EPS = 1e-12;

/**
 * DistilBERT (transformers' DistilBertModel): BERT layers under other names and without token
 * types. Sinusoidal positions (sinusoidal_pos_embds) are saved in position_embeddings.weight
 * like learned ones, so both read the same table.
 */
export async function buildDistilbert(ctx: Ctx, inputIds: string, attentionMask: string): Promise<string> {
  const { g, w, cfg } = ctx;
  const H = cfg.hiddenSize;
  const word = g.weight('word_embeddings', await w.read('embeddings.word_embeddings.weight', [cfg.vocabSize, H]), [cfg.vocabSize, H]);
  const pos = g.weight('position_embeddings', await w.read('embeddings.position_embeddings.weight', [cfg.maxPositionEmbeddings, H]), [cfg.maxPositionEmbeddings, H]);
  const embedded = g.node('Add', [g.node('Gather', [word, inputIds], { axis: 0 }), g.node('Gather', [pos, sequentialPositions(ctx, inputIds)], { axis: 0 })]);
  const eps = DISTILBERT_LN_EPS;
  let hidden = await layerNorm(ctx, embedded, { name: 'embeddings.LayerNorm', onnxName: 'embeddings_ln', eps });

  const maskBias = attentionBias(ctx, attentionMask);
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    const p = `transformer.layer.${layer}`;
    const a = `${p}.attention`;
    // The last layer only at the returned positions, as bertLayer does.
    const positions = layer === cfg.numLayers - 1 ? ctx.positions : undefined;
    const { context, residual } = await layerAttention(ctx, hidden, { names: [`${a}.q_lin`, `${a}.k_lin`, `${a}.v_lin`], prefix: a, maskBias, positions });
    const attnOut = await linear(ctx, context, { name: `${a}.out_lin`, inDim: H, outDim: H });
    const attnNorm = await layerNorm(ctx, g.node('Add', [attnOut, residual]), { name: `${p}.sa_layer_norm`, onnxName: `${p}.attn_ln`, eps });
    const up = await linear(ctx, attnNorm, { name: `${p}.ffn.lin1`, inDim: H, outDim: cfg.intermediateSize });
    const out = await linear(ctx, activation(g, cfg.hiddenAct, up), { name: `${p}.ffn.lin2`, inDim: cfg.intermediateSize, outDim: H, perToken: true });
    hidden = await layerNorm(ctx, g.node('Add', [out, attnNorm]), { name: `${p}.output_layer_norm`, onnxName: `${p}.out_ln`, eps });
  }
  return hidden;
}
