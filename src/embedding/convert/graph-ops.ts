import type { EncoderConfig, HiddenAct } from '../model/model-config.js';
import { transpose2d, type EncoderWeights } from './encoder-weights.js';
import type { OnnxGraphBuilder } from './onnx-graph-builder.js';
import { quantizePerColumn } from './quantize-weights.js';

/** Added to attention scores of padding keys, as transformers does (torch.finfo(float32).min). */
export const MASK_FILL = -3.4028234663852886e38;

export interface GraphOptions {
  /** int8: the encoder's weight MatMuls run as onnxruntime integer kernels (see quantize-weights.ts). */
  quantize: 'none' | 'int8';
  /** Linear layers (by checkpoint name, as regular expressions) that stay fp32 under int8. */
  keepFp32?: readonly string[];
}

/** What every architecture's builder works with. */
export interface Ctx {
  g: OnnxGraphBuilder;
  w: EncoderWeights;
  cfg: EncoderConfig;
  opts: GraphOptions;
  /**
   * The `output_positions` input ([P] int64): the sequence positions whose last hidden state
   * the graph returns, the same for every row. A builder may compute its last layer for those
   * rows only (keys and values still come from every token).
   */
  positions: string;
}

/** x [batch, seq, H] at `positions` [P] → [batch, P, H]. */
export function atPositions(g: OnnxGraphBuilder, x: string, positions: string): string {
  return g.node('Gather', [x, positions], { axis: 1 });
}

/** [batch, 1, 1, seq] additive bias: 0 for real tokens, MASK_FILL for padding. */
export function attentionBias({ g }: Ctx, mask: string): string {
  const maskF = g.node('Cast', [mask], { to: 1 });
  const inverted = g.node('Sub', [g.constFloat([1]), maskF]);
  const bias = g.node('Mul', [inverted, g.constFloat([MASK_FILL])]);
  return g.node('Unsqueeze', [bias, g.constInt64([1, 2])]);
}

/** 0, 1, 2, … per row, shaped like input_ids (int64). */
export function sequentialPositions({ g }: Ctx, inputIds: string): string {
  const ones = g.node('Add', [g.node('Mul', [inputIds, g.constInt64([0], [])]), g.constInt64([1], [])]);
  return g.node('Sub', [g.node('CumSum', [ones, g.constInt64([1], [])]), g.constInt64([1], [])]);
}

/** transformers' create_position_ids_from_input_ids: pad tokens keep pad_id, others count from pad_id + 1. */
export function paddedPositions({ g }: Ctx, inputIds: string, padId: number): string {
  const pad = g.constInt64([padId], []);
  const notPad = g.node('Cast', [g.node('Not', [g.node('Equal', [inputIds, pad])])], { to: 7 });
  const counted = g.node('CumSum', [notPad, g.constInt64([1], [])]);
  return g.node('Add', [g.node('Mul', [counted, notPad]), pad]);
}

/**
 * A torch Linear (weight [out, in], optional bias) applied to x. `onnxName` names a second use
 * of the same checkpoint weights (initializer names must be unique).
 */
export async function linear(
  ctx: Ctx,
  x: string,
  l: { name: string; inDim: number; outDim: number; hasBias?: boolean; onnxName?: string; perToken?: boolean },
): Promise<string> {
  const { w } = ctx;
  const weight = transpose2d(await w.read(`${l.name}.weight`, [l.outDim, l.inDim]), l.outDim, l.inDim);
  const bias = l.hasBias === false ? undefined : await w.read(`${l.name}.bias`, [l.outDim]);
  return matMulAdd(ctx, { x, name: l.onnxName ?? l.name, weight, bias, inDim: l.inDim, outDim: l.outDim, perToken: l.perToken });
}

/**
 * x·W (+ b) with W [in, out]: fp32 MatMul + Add, or int8 DynamicQuantizeMatMul (bias fused).
 *
 * `perToken`: under int8, each token's activations get a scale of their own instead of one per
 * batch tensor. For an FFN down-projection: its input is the activation's output, not a
 * LayerNorm's, so its magnitude differs from token to token by far more, and one u8 step
 * sized for the batch's largest token rounds the others coarsely (and makes a text's vector
 * depend on its batch-mates). Measured (scripts/quantize-gate.ts, 600 SciFact + ChemProt
 * texts), mean / min cosine to fp32: MiniLM 0.9961 / 0.9891 with layers 0-1 of these fp32 →
 * 0.9968 / 0.9937 with all of them int8 per token; bge-small 0.9985 / 0.9961 → 0.9990 / 0.9972.
 * Every linear per token gave 0.9976 / 0.9960 and 0.9994 / 0.9987, but cost 13-16% of int8's
 * speed on RoBERTa-base (21% on bge-small), and even that leaves vectors batch-dependent
 * (MiniLM alone vs batched 0.9986 / 0.9968: the scaled rows' common u8 range still comes from
 * the batch). The FFN down-projections alone cost nothing measurable.
 * onnxruntime's integer kernels take one activation scale, so the rows are brought to one
 * range first: x / max|x_row|, quantized, and the product scaled back.
 */
export function matMulAdd(
  { g, opts }: Pick<Ctx, 'g' | 'opts'>,
  m: { x: string; name: string; weight: Float32Array; bias: Float32Array | undefined; inDim: number; outDim: number; perToken?: boolean },
): string {
  const bName = m.bias ? g.weight(`${m.name}.bias`, m.bias, [m.outDim]) : undefined;
  const keep = (opts.keepFp32 ?? []).some((pattern) => new RegExp(pattern).test(m.name));
  if (opts.quantize === 'int8' && !keep) {
    const q = quantizePerColumn(m.weight, m.inDim, m.outDim);
    const wName = g.weightInt8(`${m.name}.weight_t_int8`, q.values, [m.inDim, m.outDim]);
    const sName = g.weight(`${m.name}.weight_scale`, q.scales, [m.outDim]);
    if (m.perToken) {
      // The floor keeps an all-zero row (0 / floor = 0) from dividing by zero.
      const rowMax = g.node('Max', [g.node('ReduceMax', [g.node('Abs', [m.x])], { axes: [-1], keepdims: 1 }), g.constFloat([1e-12])]);
      const product = g.domainNode('com.microsoft', 'DynamicQuantizeMatMul', [g.node('Div', [m.x, rowMax]), wName, sName]);
      const scaled = g.node('Mul', [product, rowMax]);
      return bName ? g.node('Add', [scaled, bName]) : scaled;
    }
    // Inputs: A, B (int8), b_scale (per output column), b_zero_point (omitted: symmetric), bias.
    return g.domainNode('com.microsoft', 'DynamicQuantizeMatMul', bName ? [m.x, wName, sName, '', bName] : [m.x, wName, sName]);
  }
  const wName = g.weight(`${m.name}.weight_t`, m.weight, [m.inDim, m.outDim]);
  const product = g.node('MatMul', [m.x, wName]);
  return bName ? g.node('Add', [product, bName]) : product;
}

/**
 * Square [H, H] linears side by side as one [H, n·H] MatMul (Q, K and V: fewer, larger GEMMs
 * run faster); the outputs are concatenated along the last axis in `names` order.
 */
export async function fusedLinears(
  ctx: Ctx,
  x: string,
  f: { names: readonly string[]; fusedName: string; dim: number; hasBias?: boolean },
): Promise<string> {
  const { w } = ctx;
  const H = f.dim;
  const n = f.names.length;
  const fused = new Float32Array(H * n * H);
  const bias = f.hasBias === false ? undefined : new Float32Array(n * H);
  for (let i = 0; i < n; i++) {
    const wt = transpose2d(await w.read(`${f.names[i]}.weight`, [H, H]), H, H); // [in, out]
    for (let r = 0; r < H; r++) fused.set(wt.subarray(r * H, (r + 1) * H), r * n * H + i * H);
    bias?.set(await w.read(`${f.names[i]}.bias`, [H]), i * H);
  }
  return matMulAdd(ctx, { x, name: f.fusedName, weight: fused, bias, inDim: H, outDim: n * H });
}


/** torch LayerNorm over the last axis; `hasBias: false` for ModernBERT's bias-free norms. */
export async function layerNorm(
  ctx: Ctx,
  x: string,
  n: { name: string; onnxName: string; dim?: number; eps?: number; hasBias?: boolean },
): Promise<string> {
  const { g, w, cfg } = ctx;
  const H = n.dim ?? cfg.hiddenSize;
  const scale = g.weight(`${n.onnxName}.weight`, await w.read(`${n.name}.weight`, [H]), [H]);
  const inputs = [x, scale];
  if (n.hasBias !== false) inputs.push(g.weight(`${n.onnxName}.bias`, await w.read(`${n.name}.bias`, [H]), [H]));
  return g.node('LayerNormalization', inputs, { axis: -1, epsilon: { float: n.eps ?? cfg.layerNormEps } });
}

/** [batch, seq, heads·headDim] → [batch, heads, seq, headDim] (perm [0,2,1,3]) or its K form [0,2,3,1]. */
export function toHeads(g: OnnxGraphBuilder, t: string, heads: number, perm: number[]): string {
  return g.node('Transpose', [g.node('Reshape', [t, g.constInt64([0, 0, heads, -1])])], { perm });
}

/** [batch, heads, seq, headDim] → [batch, seq, hidden]. */
export function mergeHeads(g: OnnxGraphBuilder, t: string, hidden: number): string {
  return g.node('Reshape', [g.node('Transpose', [t], { perm: [0, 2, 1, 3] }), g.constInt64([0, 0, hidden])]);
}

/**
 * Scaled dot-product attention on a fused QKV projection [batch, seq, 3H], as transformers'
 * eager path computes it: softmax(q·kᵀ/√d + scoreBias + mask)·v. `scoreBias` is an
 * architecture's extra additive term (MPNet's relative position bias). `maskBias` is
 * attentionBias()'s [batch, 1, 1, seq].
 */
export function selfAttention(
  ctx: Ctx,
  a: { qkv: string; maskBias: string; scoreBias?: string },
): string {
  const { g, cfg } = ctx;
  const H = cfg.hiddenSize;
  const heads = cfg.numHeads;
  const headDim = H / heads;
  const [q, k, v] = g.nodeOutputs('Split', [a.qkv, g.constInt64([H, H, H])], 3, { axis: -1 });
  if (!a.scoreBias) return fusedAttention(ctx, q!, k!, v!, a.maskBias);
  const splitHeads = g.constInt64([0, 0, heads, headDim]);
  const heads4d = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, splitHeads])], { perm });
  const qh = heads4d(q!, [0, 2, 1, 3]);
  const kh = heads4d(k!, [0, 2, 3, 1]);
  const vh = heads4d(v!, [0, 2, 1, 3]);

  let scores = g.node('MatMul', [qh, kh]);
  scores = g.node('Div', [scores, g.constFloat([Math.sqrt(headDim)])]);
  if (a.scoreBias) scores = g.node('Add', [scores, a.scoreBias]);
  scores = g.node('Add', [scores, a.maskBias]);
  const probs = g.node('Softmax', [scores], { axis: -1 });
  return g.node('Reshape', [
    g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] }),
    g.constInt64([0, 0, H]),
  ]);
}

/**
 * Attention for queries at some positions only ([batch, P, H]) over every key and value
 * (`kv`: the fused [batch, seq, 2H] K and V projection): what the last layer needs when only
 * those positions' hidden states are returned.
 */
function attentionAtPositions(ctx: Ctx, a: { q: string; kv: string; maskBias: string }): string {
  const H = ctx.cfg.hiddenSize;
  const [k, v] = ctx.g.nodeOutputs('Split', [a.kv, ctx.g.constInt64([H, H])], 2, { axis: -1 });
  return fusedAttention(ctx, a.q, k!, v!, a.maskBias);
}

/**
 * A layer's attention from its Q, K and V linears (`prefix` names the fused weights). With
 * `positions`, queries only at those positions over every key and value, and the residual
 * gathered to match: `residual` is what the layer adds the attention output to.
 */
export async function layerAttention(
  ctx: Ctx,
  x: string,
  a: { names: readonly [string, string, string]; prefix: string; maskBias: string; positions?: string },
): Promise<{ context: string; residual: string }> {
  const H = ctx.cfg.hiddenSize;
  const [qName, kName, vName] = a.names;
  if (!a.positions) {
    const qkv = await fusedLinears(ctx, x, { names: a.names, fusedName: `${a.prefix}.qkv`, dim: H });
    return { context: selfAttention(ctx, { qkv, maskBias: a.maskBias }), residual: x };
  }
  const residual = atPositions(ctx.g, x, a.positions);
  const q = await linear(ctx, residual, { name: qName, inDim: H, outDim: H });
  const kv = await fusedLinears(ctx, x, { names: [kName, vName], fusedName: `${a.prefix}.kv`, dim: H });
  return { context: attentionAtPositions(ctx, { q, kv, maskBias: a.maskBias }), residual };
}

/**
 * onnxruntime's fused kernel (it has CPU and CUDA ones) instead of the eager ops in
 * selfAttention, which its optimizer leaves unfused on this graph. Random RoBERTa-base on 2
 * CPU threads: session.run 1.05× as fast at load 1.5, 1.06–1.23× at load 7–10, outputs
 * bit-identical. The same MASK_FILL goes to padding keys, from a [batch, seq] int32 mask of
 * real tokens. Queries may be fewer than keys.
 */
function fusedAttention({ g, cfg }: Ctx, q: string, k: string, v: string, maskBias: string): string {
  const keys = g.node('Cast', [g.node('Equal', [g.node('Squeeze', [maskBias, g.constInt64([1, 2])]), g.constFloat([0])])], { to: 6 });
  return g.domainNode('com.microsoft', 'MultiHeadAttention', [q, k, v, '', keys], {
    num_heads: cfg.numHeads,
    mask_filter_value: { float: MASK_FILL },
  });
}

export function activation(g: OnnxGraphBuilder, act: HiddenAct, x: string): string {
  if (act === 'relu') return g.node('Relu', [x]);
  if (act === 'gelu') {
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

/** Sequence length of input_ids as a 1-element int64 tensor. */
export function sequenceLength(g: OnnxGraphBuilder, inputIds: string): string {
  return g.node('Gather', [g.node('Shape', [inputIds]), g.constInt64([1])], { axis: 0 });
}
