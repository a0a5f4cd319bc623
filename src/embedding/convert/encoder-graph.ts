import type { Architecture, EncoderConfig } from '../model/model-config.js';
import { buildBert } from './architectures/bert.js';
import { buildDebertaV2 } from './architectures/deberta-v2.js';
import { buildDistilbert } from './architectures/distilbert.js';
import { buildElectra } from './architectures/electra.js';
import { buildModernbert } from './architectures/modernbert.js';
import { buildMpnet } from './architectures/mpnet.js';
import { DEFAULT_ANCHOR, type EncoderWeights } from './encoder-weights.js';
import type { Ctx, GraphOptions } from './graph-ops.js';
import type { OnnxGraphBuilder } from './onnx-graph-builder.js';

export type { GraphOptions } from './graph-ops.js';

export const ENCODER_OPSET = 17;

type ArchitectureBuilder = (ctx: Ctx, inputIds: string, attentionMask: string) => Promise<string>;

const BUILDERS: Record<Architecture, ArchitectureBuilder> = {
  bert: buildBert,
  roberta: buildBert,
  electra: buildElectra,
  mpnet: buildMpnet,
  distilbert: buildDistilbert,
  modernbert: buildModernbert,
  'deberta-v2': buildDebertaV2,
};

/** The tensor whose name prefix locates the encoder in a checkpoint (see EncoderWeights). */
export function weightsAnchor(architecture: Architecture): string {
  return architecture === 'modernbert' ? 'embeddings.tok_embeddings.weight' : DEFAULT_ANCHOR;
}

/**
 * Emits an encoder as standard ONNX ops (opset 17, plus com.microsoft's DynamicQuantizeMatMul
 * under int8), each architecture mirroring transformers' eager implementation op for op.
 * Inputs: `input_ids`, `attention_mask` (int64 [batch, seq]); output: `last_hidden_state`
 * (float [batch, seq, hidden]). Layout choices (fused QKV MatMul, LayerNormalization, Erf
 * GELU) are ones onnxruntime's optimizer fuses further on CPU and CUDA.
 */
export async function buildEncoderGraph(
  g: OnnxGraphBuilder,
  w: EncoderWeights,
  cfg: EncoderConfig,
  opts: GraphOptions = { quantize: 'none' },
): Promise<void> {
  const inputIds = g.input({ name: 'input_ids', elemType: 'int64', dims: ['batch', 'sequence'] });
  const attentionMask = g.input({ name: 'attention_mask', elemType: 'int64', dims: ['batch', 'sequence'] });
  const hidden = await BUILDERS[cfg.architecture]({ g, w, cfg, opts }, inputIds, attentionMask);
  g.alias(hidden, 'last_hidden_state');
  g.output({ name: 'last_hidden_state', elemType: 'float', dims: ['batch', 'sequence', cfg.hiddenSize] });
}
