export type Pooling = 'cls' | 'mean';

/**
 * Pools one row of a right-padded [batch, sequence, hidden] output. `cls` is the first
 * token's vector (eos1086's `last_hidden_state[:, 0, :]`); `mean` averages the row's first
 * `length` tokens, which is the attention-mask-weighted mean for right padding.
 */
export function poolRow(opts: {
  hidden: Float32Array;
  row: number;
  sequence: number;
  hiddenSize: number;
  length: number;
  pooling: Pooling;
}): Float32Array {
  const { hidden, row, sequence, hiddenSize, length } = opts;
  const base = row * sequence * hiddenSize;
  if (opts.pooling === 'cls') return hidden.slice(base, base + hiddenSize);
  // Accumulate in float64: summing 512 fp32 values in fp32 loses ~1e-5 relative.
  const acc = new Float64Array(hiddenSize);
  for (let t = 0; t < length; t++) {
    const off = base + t * hiddenSize;
    for (let h = 0; h < hiddenSize; h++) acc[h]! += hidden[off + h]!;
  }
  const out = new Float32Array(hiddenSize);
  for (let h = 0; h < hiddenSize; h++) out[h] = acc[h]! / length;
  return out;
}

/** Scales to unit L2 norm in place; a zero vector stays zero. */
export function normalizeL2(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
  return vector;
}
