import { activation, attentionBias, layerNorm, linear, mergeHeads, MASK_FILL, sequenceLength, toHeads, type Ctx } from '../graph-ops.js';

/**
 * ModernBERT (transformers' ModernBertModel, eager attention): pre-norm layers without biases
 * (by default), rotary positions with one theta for global and another for local layers,
 * global attention every n-th layer and a sliding window (|q − k| ≤ local_attention / 2)
 * elsewhere, a GeGLU MLP, and a final norm.
 */
export async function buildModernbert(ctx: Ctx, inputIds: string, attentionMask: string): Promise<string> {
  const { g, w, cfg } = ctx;
  const mb = cfg.modernbert;
  if (!mb) throw new Error('bug: modernbert graph without its config');
  const H = cfg.hiddenSize;
  const hasBias = mb.normBias;
  const word = g.weight('tok_embeddings', await w.read('embeddings.tok_embeddings.weight', [cfg.vocabSize, H]), [cfg.vocabSize, H]);
  let hidden = await layerNorm(ctx, g.node('Gather', [word, inputIds], { axis: 0 }), { name: 'embeddings.norm', onnxName: 'embeddings_norm', hasBias });

  const seq = sequenceLength(g, inputIds);
  const padBias = attentionBias(ctx, attentionMask);
  // Min, not Add: a padded query inside a window of padding keys must see MASK_FILL (a uniform
  // softmax, as transformers' single boolean mask gives), not −inf and then NaN.
  const localBias = g.node('Min', [padBias, windowBias(ctx, seq, mb.localWindow)]);
  const rope = {
    full: ropeTables(ctx, seq, mb.globalRopeTheta, 'global'),
    sliding: ropeTables(ctx, seq, mb.localRopeTheta, 'local'),
  };
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    const p = `layers.${layer}`;
    const type = mb.layerTypes[layer]!;
    // Layer 0's attn_norm is an Identity: the embeddings' norm already normalised its input.
    const normed = layer === 0 ? hidden : await layerNorm(ctx, hidden, { name: `${p}.attn_norm`, onnxName: `${p}.attn_norm`, hasBias });
    const attn = await attention(ctx, { p, x: normed, cosSin: rope[type], maskBias: type === 'full' ? padBias : localBias });
    hidden = g.node('Add', [hidden, attn]);
    const mlpIn = await layerNorm(ctx, hidden, { name: `${p}.mlp_norm`, onnxName: `${p}.mlp_norm`, hasBias });
    hidden = g.node('Add', [hidden, await geglu(ctx, p, mlpIn)]);
  }
  return layerNorm(ctx, hidden, { name: 'final_norm', onnxName: 'final_norm', hasBias });
}

async function attention(ctx: Ctx, a: { p: string; x: string; cosSin: [string, string]; maskBias: string }): Promise<string> {
  const { g, cfg } = ctx;
  const H = cfg.hiddenSize;
  const heads = cfg.numHeads;
  const headDim = H / heads;
  const hasBias = cfg.modernbert!.attentionBias;
  const qkv = await linear(ctx, a.x, { name: `${a.p}.attn.Wqkv`, inDim: H, outDim: 3 * H, hasBias });
  const [q, k, v] = g.nodeOutputs('Split', [qkv, g.constInt64([H, H, H])], 3, { axis: -1 });
  const [cos, sin] = a.cosSin;
  const rotate = (t: string) => {
    const [x1, x2] = g.nodeOutputs('Split', [t, g.constInt64([headDim / 2, headDim / 2])], 2, { axis: -1 });
    const rotated = g.node('Concat', [g.node('Neg', [x2!]), x1!], { axis: -1 });
    return g.node('Add', [g.node('Mul', [t, cos]), g.node('Mul', [rotated, sin])]);
  };
  const qh = rotate(toHeads(g, q!, heads, [0, 2, 1, 3]));
  const kh = g.node('Transpose', [rotate(toHeads(g, k!, heads, [0, 2, 1, 3]))], { perm: [0, 1, 3, 2] });
  const vh = toHeads(g, v!, heads, [0, 2, 1, 3]);
  let scores = g.node('Mul', [g.node('MatMul', [qh, kh]), g.constFloat([headDim ** -0.5])]);
  scores = g.node('Add', [scores, a.maskBias]);
  const context = mergeHeads(g, g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), vh]), H);
  return linear(ctx, context, { name: `${a.p}.attn.Wo`, inDim: H, outDim: H, hasBias });
}

/** Wi → (input, gate) halves → act(input)·gate → Wo. */
async function geglu(ctx: Ctx, p: string, x: string): Promise<string> {
  const { g, cfg } = ctx;
  const I = cfg.intermediateSize;
  const hasBias = cfg.modernbert!.mlpBias;
  const wi = await linear(ctx, x, { name: `${p}.mlp.Wi`, inDim: cfg.hiddenSize, outDim: 2 * I, hasBias });
  const [input, gate] = g.nodeOutputs('Split', [wi, g.constInt64([I, I])], 2, { axis: -1 });
  return linear(ctx, g.node('Mul', [activation(g, cfg.hiddenAct, input!), gate!]), { name: `${p}.mlp.Wo`, inDim: I, outDim: cfg.hiddenSize, hasBias, perToken: true });
}

/** [1, 1, seq, seq]: 0 within the window, MASK_FILL outside. */
function windowBias({ g }: Ctx, seq: string, halfWindow: number): string {
  const steps = g.node('Range', [g.constInt64([0], []), g.node('Squeeze', [seq, g.constInt64([0])]), g.constInt64([1], [])]);
  const distance = g.node('Abs', [g.node('Sub', [g.node('Unsqueeze', [steps, g.constInt64([0])]), g.node('Unsqueeze', [steps, g.constInt64([1])])])]);
  const outside = g.node('Greater', [distance, g.constInt64([halfWindow], [])]);
  const bias = g.node('Where', [outside, g.constFloat([MASK_FILL]), g.constFloat([0])]);
  return g.node('Unsqueeze', [bias, g.constInt64([0, 1])]);
}

/**
 * cos and sin of every position × frequency, [seq, headDim], sliced from tables computed here
 * with torch's float32 steps (inv_freq = 1 / θ^(2i/d), then position · inv_freq).
 */
function ropeTables({ g, cfg }: Ctx, seq: string, theta: number, name: string): [string, string] {
  const f = Math.fround;
  const d = cfg.hiddenSize / cfg.numHeads;
  const L = cfg.maxPositionEmbeddings;
  const inv = Array.from({ length: d / 2 }, (_, i) => f(1 / f(Math.pow(theta, f(f(2 * i) / d)))));
  const cos = new Float32Array(L * d);
  const sin = new Float32Array(L * d);
  for (let pos = 0; pos < L; pos++) {
    for (let i = 0; i < d / 2; i++) {
      const angle = f(pos * inv[i]!);
      cos[pos * d + i] = cos[pos * d + i + d / 2] = Math.cos(angle);
      sin[pos * d + i] = sin[pos * d + i + d / 2] = Math.sin(angle);
    }
  }
  const slice = (table: string) => g.node('Slice', [table, g.constInt64([0]), seq, g.constInt64([0])]);
  return [slice(g.weight(`rope_cos_${name}`, cos, [L, d])), slice(g.weight(`rope_sin_${name}`, sin, [L, d]))];
}
