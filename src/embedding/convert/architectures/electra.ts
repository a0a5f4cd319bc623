import { attentionBias, linear, type Ctx } from '../graph-ops.js';
import { bertEmbeddings, bertLayers } from './bert.js';

/**
 * ELECTRA's discriminator encoder (ElectraModel): BERT's embeddings at embedding_size, projected
 * to hidden_size by `embeddings_project` when the two differ, then BERT layers. The generator
 * and the discriminator head are never read.
 */
export async function buildElectra(ctx: Ctx, inputIds: string, attentionMask: string): Promise<string> {
  const { cfg } = ctx;
  const E = cfg.embeddingSize ?? cfg.hiddenSize;
  let hidden = await bertEmbeddings(ctx, inputIds, E);
  if (E !== cfg.hiddenSize) hidden = await linear(ctx, hidden, { name: 'embeddings_project', inDim: E, outDim: cfg.hiddenSize });
  return bertLayers(ctx, hidden, attentionBias(ctx, attentionMask));
}
