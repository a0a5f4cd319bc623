import type { EncoderConfig } from '../model/model-config.js';
import { EncoderWeights, transpose2d } from './encoder-weights.js';
import type { OnnxGraphBuilder } from './onnx-graph-builder.js';
import { quantizePerColumn } from './quantize-weights.js';

/** Added to attention scores of padding keys, as transformers does (torch.finfo(float32).min). */
const MASK_FILL = -3.4028234663852886e38;

export const ENCODER_OPSET = 17;

export interface GraphOptions {
  /** int8: the encoder's weight MatMuls run as onnxruntime integer kernels (see quantize-weights.ts). */
  quantize: 'none' | 'int8';
  /** Linear layers (by checkpoint name, as regular expressions) that stay fp32 under int8. */
  keepFp32?: readonly string[];
}

interface Ctx {
  g: OnnxGraphBuilder;
  w: EncoderWeights;
  cfg: EncoderConfig;
  opts: GraphOptions;
}

/**
 * Emits the BERT/RoBERTa encoder as standard ONNX ops (opset 17), mirroring transformers'
 * eager implementation op for op so fp32 outputs agree to ~1e-6. Inputs: `input_ids`,
 * `attention_mask` (int64 [batch, seq]); output: `last_hidden_state` (float [batch, seq, hidden]).
 * Layout choices (fused QKV MatMul, LayerNormalization, Erf GELU) are ones onnxruntime's
 * optimizer fuses further on CPU and CUDA.
 */
export async function buildEncoderGraph(
  g: OnnxGraphBuilder,
  w: EncoderWeights,
  cfg: EncoderConfig,
  opts: GraphOptions = { quantize: 'none' },
): Promise<void> {
  const ctx: Ctx = { g, w, cfg, opts };
  const inputIds = g.input({ name: 'input_ids', elemType: 'int64', dims: ['batch', 'sequence'] });
  const attentionMask = g.input({ name: 'attention_mask', elemType: 'int64', dims: ['batch', 'sequence'] });

  let hidden = await embeddings(ctx, inputIds);
  const maskBias = attentionBias(ctx, attentionMask);
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    hidden = await encoderLayer(ctx, layer, hidden, maskBias);
  }
  g.alias(hidden, 'last_hidden_state');
  g.output({ name: 'last_hidden_state', elemType: 'float', dims: ['batch', 'sequence', cfg.hiddenSize] });
}

async function embeddings(ctx: Ctx, inputIds: string): Promise<string> {
  const { g, w, cfg } = ctx;
  const H = cfg.hiddenSize;
  const word = g.weight('word_embeddings', await w.read('embeddings.word_embeddings.weight', [cfg.vocabSize, H]), [cfg.vocabSize, H]);
  const pos = g.weight(
    'position_embeddings',
    await w.read('embeddings.position_embeddings.weight', [cfg.maxPositionEmbeddings, H]),
    [cfg.maxPositionEmbeddings, H],
  );
  // Single-segment input: every token has type 0, so its embedding is one constant row.
  const types = await w.read('embeddings.token_type_embeddings.weight', [cfg.typeVocabSize, H]);
  const type0 = g.weight('token_type_embedding_0', types.slice(0, H), [H]);

  const positionIds = cfg.architecture === 'roberta' ? robertaPositions(ctx, inputIds) : bertPositions(ctx, inputIds);
  let x = g.node('Add', [g.node('Gather', [word, inputIds], { axis: 0 }), g.node('Gather', [pos, positionIds], { axis: 0 })]);
  x = g.node('Add', [x, type0]);
  return layerNorm(ctx, x, 'embeddings.LayerNorm', 'embeddings_ln');
}

/** transformers' create_position_ids_from_input_ids: pad tokens keep pad_id, others count from pad_id + 1. */
function robertaPositions({ g, cfg }: Ctx, inputIds: string): string {
  const pad = g.constInt64([cfg.padTokenId], []);
  const notPad = g.node('Cast', [g.node('Not', [g.node('Equal', [inputIds, pad])])], { to: 7 });
  const counted = g.node('CumSum', [notPad, g.constInt64([1], [])]);
  return g.node('Add', [g.node('Mul', [counted, notPad]), pad]);
}

function bertPositions({ g }: Ctx, inputIds: string): string {
  const ones = g.node('Add', [g.node('Mul', [inputIds, g.constInt64([0], [])]), g.constInt64([1], [])]);
  return g.node('Sub', [g.node('CumSum', [ones, g.constInt64([1], [])]), g.constInt64([1], [])]);
}

/** [batch, 1, 1, seq] additive bias: 0 for real tokens, MASK_FILL for padding. */
function attentionBias({ g }: Ctx, mask: string): string {
  const maskF = g.node('Cast', [mask], { to: 1 });
  const inverted = g.node('Sub', [g.constFloat([1]), maskF]);
  const bias = g.node('Mul', [inverted, g.constFloat([MASK_FILL])]);
  return g.node('Unsqueeze', [bias, g.constInt64([1, 2])]);
}

async function linear(ctx: Ctx, x: string, name: string, inDim: number, outDim: number): Promise<string> {
  const { g, w } = ctx;
  const weight = transpose2d(await w.read(`${name}.weight`, [outDim, inDim]), outDim, inDim);
  return matMulAdd(ctx, { x, name, weight, bias: await w.read(`${name}.bias`, [outDim]), inDim, outDim });
}

/** x·W + b with W [in, out]: fp32 MatMul + Add, or one int8 DynamicQuantizeMatMul with the bias fused. */
function matMulAdd(
  { g, opts }: Ctx,
  m: { x: string; name: string; weight: Float32Array; bias: Float32Array; inDim: number; outDim: number },
): string {
  const bName = g.weight(`${m.name}.bias`, m.bias, [m.outDim]);
  const keep = (opts.keepFp32 ?? []).some((pattern) => new RegExp(pattern).test(m.name));
  if (opts.quantize === 'int8' && !keep) {
    const q = quantizePerColumn(m.weight, m.inDim, m.outDim);
    const wName = g.weightInt8(`${m.name}.weight_t_int8`, q.values, [m.inDim, m.outDim]);
    const sName = g.weight(`${m.name}.weight_scale`, q.scales, [m.outDim]);
    // Inputs: A, B (int8), b_scale (per output column), b_zero_point (omitted: symmetric), bias.
    return g.domainNode('com.microsoft', 'DynamicQuantizeMatMul', [m.x, wName, sName, '', bName]);
  }
  const wName = g.weight(`${m.name}.weight_t`, m.weight, [m.inDim, m.outDim]);
  return g.node('Add', [g.node('MatMul', [m.x, wName]), bName]);
}

async function layerNorm(ctx: Ctx, x: string, name: string, onnxName: string): Promise<string> {
  const { g, w, cfg } = ctx;
  const H = cfg.hiddenSize;
  const scale = g.weight(`${onnxName}.weight`, await w.read(`${name}.weight`, [H]), [H]);
  const bias = g.weight(`${onnxName}.bias`, await w.read(`${name}.bias`, [H]), [H]);
  return g.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: { float: cfg.layerNormEps } });
}

async function encoderLayer(ctx: Ctx, layer: number, x: string, maskBias: string): Promise<string> {
  const { g, cfg } = ctx;
  const p = `encoder.layer.${layer}`;
  const H = cfg.hiddenSize;
  const heads = cfg.numHeads;
  const headDim = H / heads;

  const qkv = await fusedQkv(ctx, x, `${p}.attention.self`);
  const [q, k, v] = g.nodeOutputs('Split', [qkv, g.constInt64([H, H, H])], 3, { axis: -1 });
  const splitHeads = g.constInt64([0, 0, heads, headDim]);
  const toHeads = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, splitHeads])], { perm });
  const qh = toHeads(q!, [0, 2, 1, 3]);
  const kh = toHeads(k!, [0, 2, 3, 1]);
  const vh = toHeads(v!, [0, 2, 1, 3]);

  let scores = g.node('MatMul', [qh, kh]);
  scores = g.node('Div', [scores, g.constFloat([Math.sqrt(headDim)])]);
  scores = g.node('Add', [scores, maskBias]);
  const probs = g.node('Softmax', [scores], { axis: -1 });
  const context = g.node('Reshape', [
    g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] }),
    g.constInt64([0, 0, H]),
  ]);

  const attnOut = await linear(ctx, context, `${p}.attention.output.dense`, H, H);
  const attnNorm = await layerNorm(ctx, g.node('Add', [attnOut, x]), `${p}.attention.output.LayerNorm`, `${p}.attn_ln`);

  const inter = activation(ctx, await linear(ctx, attnNorm, `${p}.intermediate.dense`, H, cfg.intermediateSize));
  const out = await linear(ctx, inter, `${p}.output.dense`, cfg.intermediateSize, H);
  return layerNorm(ctx, g.node('Add', [out, attnNorm]), `${p}.output.LayerNorm`, `${p}.out_ln`);
}

/** One [H, 3H] MatMul instead of three [H, H] ones: fewer, larger GEMMs run faster. */
async function fusedQkv(ctx: Ctx, x: string, p: string): Promise<string> {
  const { w, cfg } = ctx;
  const H = cfg.hiddenSize;
  const fused = new Float32Array(H * 3 * H);
  const bias = new Float32Array(3 * H);
  const parts = ['query', 'key', 'value'] as const;
  for (let i = 0; i < parts.length; i++) {
    const wt = transpose2d(await w.read(`${p}.${parts[i]}.weight`, [H, H]), H, H); // [in, out]
    for (let r = 0; r < H; r++) fused.set(wt.subarray(r * H, (r + 1) * H), r * 3 * H + i * H);
    bias.set(await w.read(`${p}.${parts[i]}.bias`, [H]), i * H);
  }
  return matMulAdd(ctx, { x, name: `${p}.qkv`, weight: fused, bias, inDim: H, outDim: 3 * H });
}

function activation({ g, cfg }: Ctx, x: string): string {
  if (cfg.hiddenAct === 'relu') return g.node('Relu', [x]);
  if (cfg.hiddenAct === 'gelu') {
    // Exact GELU, 0.5·x·(1 + erf(x/√2)), as torch.nn.functional.gelu computes it.
    const erf = g.node('Erf', [g.node('Div', [x, g.constFloat([Math.SQRT2])])]);
    return g.node('Mul', [g.node('Mul', [x, g.node('Add', [erf, g.constFloat([1])])]), g.constFloat([0.5])]);
  }
  // tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
  const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
  const inner = g.node('Mul', [
    g.node('Add', [x, g.node('Mul', [cube, g.constFloat([0.044715])])]),
    g.constFloat([Math.sqrt(2 / Math.PI)]),
  ]);
  const t = g.node('Tanh', [inner]);
  return g.node('Mul', [g.node('Mul', [x, g.node('Add', [t, g.constFloat([1])])]), g.constFloat([0.5])]);
}
