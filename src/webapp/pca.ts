/** A 2-D projection of row vectors, with the share of variance each axis holds. */
export interface Projection2d {
  /** x0, y0, x1, y1, ... in row order. */
  coords: Float32Array;
  /** Fraction of the total variance along each axis, 0..1. */
  explained: [number, number];
}

const ITERATIONS = 200;

/**
 * PCA to two dimensions by power iteration with deflation on the centred rows, without forming
 * the dims × dims covariance (each step is two passes over the rows: O(rows × dims)). The start
 * vector is fixed, so the same rows always give the same picture (up to nothing: signs are
 * fixed by making each axis's largest loading positive).
 */
export function projectPca(rows: Float32Array[]): Projection2d {
  const n = rows.length;
  const dims = rows[0]?.length ?? 0;
  const coords = new Float32Array(n * 2);
  if (n === 0 || dims === 0) return { coords, explained: [0, 0] };
  const mean = new Float64Array(dims);
  for (const r of rows) for (let j = 0; j < dims; j++) mean[j]! += r[j]! / n;
  let total = 0;
  for (const r of rows) for (let j = 0; j < dims; j++) total += (r[j]! - mean[j]!) ** 2;
  const axes: Float64Array[] = [];
  const variances: number[] = [];
  for (let axis = 0; axis < 2; axis++) {
    const { vector, variance } = topComponent(rows, mean, axes);
    axes.push(vector);
    variances.push(variance);
  }
  rows.forEach((r, i) => {
    for (let a = 0; a < 2; a++) {
      let s = 0;
      for (let j = 0; j < dims; j++) s += (r[j]! - mean[j]!) * axes[a]![j]!;
      coords[2 * i + a] = s;
    }
  });
  const share = (v: number) => (total > 0 ? Number((v / total).toFixed(4)) : 0);
  return { coords, explained: [share(variances[0]!), share(variances[1]!)] };
}

function topComponent(rows: Float32Array[], mean: Float64Array, found: Float64Array[]): { vector: Float64Array; variance: number } {
  const dims = mean.length;
  let v = new Float64Array(dims).map((_, j) => 1 / Math.sqrt(dims) * (1 + (j % 7) / 10));
  let variance = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    orthogonalize(v, found);
    const next = new Float64Array(dims);
    for (const r of rows) {
      let dot = 0;
      for (let j = 0; j < dims; j++) dot += (r[j]! - mean[j]!) * v[j]!;
      for (let j = 0; j < dims; j++) next[j]! += dot * (r[j]! - mean[j]!);
    }
    orthogonalize(next, found);
    const norm = Math.hypot(...next);
    if (norm === 0) break; // no variance left in this direction
    variance = norm; // Rayleigh quotient for a unit v: |C v| once converged
    const moved = next.reduce((s, x, j) => s + Math.abs(x / norm - v[j]!), 0);
    v = next.map((x) => x / norm);
    if (moved < 1e-9) break;
  }
  const largest = v.reduce((best, x, j) => (Math.abs(x) > Math.abs(v[best]!) ? j : best), 0);
  if (v[largest]! < 0) v = v.map((x) => -x);
  return { vector: v, variance };
}

function orthogonalize(v: Float64Array, basis: Float64Array[]): void {
  for (const b of basis) {
    let dot = 0;
    for (let j = 0; j < v.length; j++) dot += v[j]! * b[j]!;
    for (let j = 0; j < v.length; j++) v[j]! -= dot * b[j]!;
  }
}
