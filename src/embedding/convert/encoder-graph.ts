import type { Architecture, EncoderConfig } from '../model/model-config.js';
import { buildBert } from './architectures/bert.js';
import { buildDebertaV2 } from './architectures/deberta-v2.js';
import { buildDistilbert } from './architectures/distilbert.js';
import { buildElectra } from './architectures/electra.js';
import { buildModernbert } from './architectures/modernbert.js';
import { buildMpnet } from './architectures/mpnet.js';
import { DEFAULT_ANCHOR, type EncoderWeights } from './encoder-weights.js';
import { atPositions, type Ctx, type GraphOptions } from './graph-ops.js';
import type { OnnxGraphBuilder } from './onnx-graph-builder.js';

export type { GraphOptions } from './graph-ops.js';

export const ENCODER_OPSET = 17;

type ArchitectureBuilder = (ctx: Ctx, inputIds: string, attentionMask: string) => Promise<string>;

/** For builders that compute every position to the end: pick the returned ones there. */
const gatheredAtEnd = (build: ArchitectureBuilder): ArchitectureBuilder => async (ctx, inputIds, mask) =>
  atPositions(ctx.g, await build(ctx, inputIds, mask), ctx.positions);

/** Each returns the last hidden state at ctx.positions. */
const BUILDERS: Record<Architecture, ArchitectureBuilder> = {
  bert: buildBert,
  roberta: buildBert,
  electra: buildElectra,
  distilbert: buildDistilbert,
  mpnet: gatheredAtEnd(buildMpnet),
  modernbert: gatheredAtEnd(buildModernbert),
  'deberta-v2': gatheredAtEnd(buildDebertaV2),
};

/** The tensor whose name prefix locates the encoder in a checkpoint (see EncoderWeights). */
export function weightsAnchor(architecture: Architecture): string {
  return architecture === 'modernbert' ? 'embeddings.tok_embeddings.weight' : DEFAULT_ANCHOR;
}

/**
 * Emits an encoder as standard ONNX ops (opset 17, plus com.microsoft's DynamicQuantizeMatMul
 * under int8), each architecture mirroring transformers' eager implementation op for op.
 * Inputs: `input_ids`, `attention_mask` (int64 [batch, seq]) and `output_positions` (int64
 * [P]: [0] for CLS pooling, 0…seq−1 for every token); output: `last_hidden_state` (float
 * [batch, P, hidden]) at those positions. Layout choices (fused QKV MatMul, LayerNormalization, Erf
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
  const positions = g.input({ name: 'output_positions', elemType: 'int64', dims: ['positions'] });
  const hidden = await BUILDERS[cfg.architecture]({ g, w, cfg, opts, positions }, inputIds, attentionMask);
  g.alias(hidden, 'last_hidden_state');
  g.output({ name: 'last_hidden_state', elemType: 'float', dims: ['batch', 'positions', cfg.hiddenSize] });
}
