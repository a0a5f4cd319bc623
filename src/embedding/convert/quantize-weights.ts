export interface QuantizedMatrix {
  /** Row-major [rows, cols], the same layout as the fp32 matrix. */
  values: Int8Array;
  /** One scale per column (output channel): value ≈ q · scale. */
  scales: Float32Array;
}

/**
 * Symmetric per-output-channel int8 quantization of a MatMul weight W [in, out]. One scale per
 * column keeps a column of small weights from being rounded away by another column's large ones
 * (trained encoders' columns differ by 10× and more). Zero point 0 so onnxruntime's u8s8 kernels
 * (VNNI / AMX, or AVX2's VPMADDUBSW) need no weight-side correction. The range is ±127, not
 * -128: with -128 the symmetric grid is lopsided and nothing is gained.
 */
export function quantizePerColumn(weight: Float32Array, rows: number, cols: number): QuantizedMatrix {
  const maxAbs = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(weight[base + c]!);
      if (a > maxAbs[c]!) maxAbs[c] = a;
    }
  }
  const scales = new Float32Array(cols);
  const inverse = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    // An all-zero column keeps scale 1 (any scale reproduces it) instead of dividing by zero.
    scales[c] = maxAbs[c]! > 0 ? maxAbs[c]! / 127 : 1;
    inverse[c] = 1 / scales[c]!;
  }
  const values = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const q = Math.round(weight[base + c]! * inverse[c]!);
      values[base + c] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { values, scales };
}
