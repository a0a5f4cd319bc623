import { activation, attentionBias, layerAttention, layerNorm, linear, paddedPositions, sequentialPositions, type Ctx } from '../graph-ops.js';

/**
 * BERT and RoBERTa (and XLM-R, CamemBERT): post-norm layers with a fused QKV, learned absolute
 * positions (RoBERTa's offset past pad_token_id) and one token-type row, mirroring
 * transformers' eager implementation op for op so fp32 outputs agree to ~1e-6.
 */
export async function buildBert(ctx: Ctx, inputIds: string, attentionMask: string): Promise<string> {
  let hidden = await bertEmbeddings(ctx, inputIds, ctx.cfg.hiddenSize);
  const maskBias = attentionBias(ctx, attentionMask);
  return bertLayers(ctx, hidden, maskBias);
}

/** The encoder layers; the last one only at ctx.positions. */
export async function bertLayers(ctx: Ctx, hidden: string, maskBias: string): Promise<string> {
  const last = ctx.cfg.numLayers - 1;
  for (let layer = 0; layer < last; layer++) hidden = await bertLayer(ctx, `encoder.layer.${layer}`, hidden, maskBias);
  return bertLayer(ctx, `encoder.layer.${last}`, hidden, maskBias, ctx.positions);
}

/** Word + position + token-type-0 embeddings, then LayerNorm, all `width` wide (ELECTRA's embedding_size). */
export async function bertEmbeddings(ctx: Ctx, inputIds: string, width: number): Promise<string> {
  const { g, w, cfg } = ctx;
  const E = width;
  const word = g.weight('word_embeddings', await w.read('embeddings.word_embeddings.weight', [cfg.vocabSize, E]), [cfg.vocabSize, E]);
  const pos = g.weight(
    'position_embeddings',
    await w.read('embeddings.position_embeddings.weight', [cfg.maxPositionEmbeddings, E]),
    [cfg.maxPositionEmbeddings, E],
  );
  // Single-segment input: every token has type 0, so its embedding is one constant row.
  const types = await w.read('embeddings.token_type_embeddings.weight', [cfg.typeVocabSize, E]);
  const type0 = g.weight('token_type_embedding_0', types.slice(0, E), [E]);

  const positionIds = cfg.architecture === 'roberta' ? paddedPositions(ctx, inputIds, cfg.padTokenId) : sequentialPositions(ctx, inputIds);
  let x = g.node('Add', [g.node('Gather', [word, inputIds], { axis: 0 }), g.node('Gather', [pos, positionIds], { axis: 0 })]);
  x = g.node('Add', [x, type0]);
  return layerNorm(ctx, x, { name: 'embeddings.LayerNorm', onnxName: 'embeddings_ln', dim: E });
}

/**
 * One BERT encoder layer: attention, residual + LayerNorm, FFN, residual + LayerNorm. With
 * `positions`, only those tokens go on past attention's K and V projections: for CLS pooling
 * the last layer then runs about a tenth of its FLOPs (BERT-base: ~7% of the whole encoder).
 */
export async function bertLayer(ctx: Ctx, p: string, x: string, maskBias: string, positions?: string): Promise<string> {
  const { g, cfg } = ctx;
  const H = cfg.hiddenSize;
  const self = `${p}.attention.self`;
  const { context, residual } = await layerAttention(ctx, x, { names: [`${self}.query`, `${self}.key`, `${self}.value`], prefix: self, maskBias, positions });

  const attnOut = await linear(ctx, context, { name: `${p}.attention.output.dense`, inDim: H, outDim: H });
  const attnNorm = await layerNorm(ctx, g.node('Add', [attnOut, residual]), { name: `${p}.attention.output.LayerNorm`, onnxName: `${p}.attn_ln` });

  const up = await linear(ctx, attnNorm, { name: `${p}.intermediate.dense`, inDim: H, outDim: cfg.intermediateSize });
  const out = await linear(ctx, activation(g, cfg.hiddenAct, up), { name: `${p}.output.dense`, inDim: cfg.intermediateSize, outDim: H, perToken: true });
  return layerNorm(ctx, g.node('Add', [out, attnNorm]), { name: `${p}.output.LayerNorm`, onnxName: `${p}.out_ln` });
}
