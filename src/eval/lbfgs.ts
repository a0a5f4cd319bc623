/** An objective: returns f(theta) and writes its gradient into grad. */
export type Objective = (theta: Float64Array, grad: Float64Array) => number;

const LBFGS_MEMORY = 10;
const MAX_LINE_SEARCH_STEPS = 50;

/** a[aOff…aOff+n) · b[bOff…bOff+n). */
export function dot(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += a[aOff + j]! * b[bOff + j]!;
  return s;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (const a of v) if (Math.abs(a) > m) m = Math.abs(a);
  return m;
}

/**
 * L-BFGS with a backtracking (Armijo, quadratic interpolation) line search. Stops like SciPy's
 * L-BFGS-B as scikit-learn calls it: max |gradient| ≤ tolerance, or a relative drop in the
 * objective below 64 ε, which no further float64 step can improve on.
 */
export function minimizeLbfgs(f: Objective, x0: Float64Array, opts: { maxIterations: number; tolerance: number }) {
  const n = x0.length;
  let x: Float64Array = x0;
  let xNew: Float64Array = new Float64Array(n);
  let g: Float64Array = new Float64Array(n);
  let gNew: Float64Array = new Float64Array(n);
  const history = new CurvatureHistory(n);
  const d = new Float64Array(n);
  let fx = f(x, g);
  for (let iteration = 1; iteration <= opts.maxIterations; iteration++) {
    if (maxAbs(g) <= opts.tolerance) return { x, iterations: iteration - 1, converged: true };
    let slope = history.direction(g, d);
    if (!(slope < 0)) {
      // Rounding can cost H its positivity; steepest descent always descends.
      history.clear();
      slope = history.direction(g, d);
    }
    // Without curvature history d is −g itself; a first step of unit length is SciPy's choice too.
    let step = history.size === 0 ? 1 / Math.sqrt(-slope) : 1;
    let fNew = NaN;
    let isAccepted = false;
    for (let tries = 0; tries < MAX_LINE_SEARCH_STEPS && !isAccepted; tries++) {
      for (let j = 0; j < n; j++) xNew[j] = x[j]! + step * d[j]!;
      fNew = f(xNew, gNew);
      isAccepted = fNew <= fx + 1e-4 * step * slope;
      if (isAccepted) break;
      const quadratic = (-slope * step * step) / (2 * (fNew - fx - slope * step));
      step = Number.isFinite(quadratic) ? Math.min(0.5 * step, Math.max(0.1 * step, quadratic)) : 0.5 * step;
    }
    if (!isAccepted) return { x, iterations: iteration, converged: false };
    history.push(x, xNew, g, gNew);
    const drop = (fx - fNew) / Math.max(Math.abs(fx), Math.abs(fNew), 1);
    [x, xNew, g, gNew, fx] = [xNew, x, gNew, g, fNew];
    if (drop <= 64 * Number.EPSILON) return { x, iterations: iteration, converged: true };
  }
  return { x, iterations: opts.maxIterations, converged: maxAbs(g) <= opts.tolerance };
}

/** The last LBFGS_MEMORY (s, y) pairs, in preallocated ring slots; `head` is the newest. */
class CurvatureHistory {
  size = 0;
  private head = 0;
  private readonly s: Float64Array[];
  private readonly y: Float64Array[];
  private readonly rho = new Float64Array(LBFGS_MEMORY);
  private readonly alpha = new Float64Array(LBFGS_MEMORY);

  constructor(private readonly n: number) {
    this.s = Array.from({ length: LBFGS_MEMORY }, () => new Float64Array(n));
    this.y = Array.from({ length: LBFGS_MEMORY }, () => new Float64Array(n));
  }

  clear(): void {
    this.size = 0;
  }

  push(x: Float64Array, xNew: Float64Array, g: Float64Array, gNew: Float64Array): void {
    const slot = (this.head + 1) % LBFGS_MEMORY;
    const s = this.s[slot]!;
    const y = this.y[slot]!;
    let sy = 0;
    let yy = 0;
    for (let j = 0; j < this.n; j++) {
      s[j] = xNew[j]! - x[j]!;
      y[j] = gNew[j]! - g[j]!;
      sy += s[j]! * y[j]!;
      yy += y[j]! * y[j]!;
    }
    // The objective is convex, so a pair without clear positive curvature is rounding noise and
    // would break H's positivity (L-BFGS-B's test). The slot written may have held the oldest
    // pair, which is then gone either way.
    if (!(sy > Number.EPSILON * yy)) {
      this.size = Math.min(this.size, LBFGS_MEMORY - 1);
      return;
    }
    this.rho[slot] = 1 / sy;
    this.head = slot;
    this.size = Math.min(this.size + 1, LBFGS_MEMORY);
  }

  /** Writes d = −H·g (two-loop recursion) and returns the slope g·d. */
  direction(g: Float64Array, d: Float64Array): number {
    const { n, s, y, rho, alpha } = this;
    const slot = (m: number) => (this.head - m + LBFGS_MEMORY) % LBFGS_MEMORY;
    for (let j = 0; j < n; j++) d[j] = -g[j]!;
    for (let m = 0; m < this.size; m++) {
      const i = slot(m);
      alpha[i] = rho[i]! * dot(s[i]!, 0, d, 0, n);
      for (let j = 0; j < n; j++) d[j]! -= alpha[i]! * y[i]![j]!;
    }
    if (this.size > 0) {
      const y0 = y[this.head]!;
      const gamma = 1 / (rho[this.head]! * dot(y0, 0, y0, 0, n));
      for (let j = 0; j < n; j++) d[j]! *= gamma;
    }
    for (let m = this.size - 1; m >= 0; m--) {
      const i = slot(m);
      const beta = rho[i]! * dot(y[i]!, 0, d, 0, n);
      for (let j = 0; j < n; j++) d[j]! += (alpha[i]! - beta) * s[i]![j]!;
    }
    return dot(g, 0, d, 0, n);
  }
}
