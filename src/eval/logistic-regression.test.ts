import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../test/helpers/fixtures.js';
import { InvalidInputError } from '../lib/errors.js';
import { applyStandardizer, fitLogisticRegression, fitStandardizer } from './logistic-regression.js';

interface LogisticCase {
  name: string;
  c: number;
  classCount: number;
  x: number[][];
  y: number[];
  coef: number[][];
  intercept: number[];
  proba: number[][];
}

/** scikit-learn's fits, written by scripts/python/make_probe_refs.py. */
const reference = JSON.parse(readFileSync(join(FIXTURES, 'probe', 'reference.json'), 'utf8')) as {
  sklearn: string;
  logistic: LogisticCase[];
};

// sklearn itself (lbfgs, tol=1e-10) sits ~1e-6 from the exact optimum on these sets, so these
// bounds leave room for both solvers' stopping points and nothing more.
const COEF_TOLERANCE = 1e-3;
const PROBA_TOLERANCE = 1e-4;

describe(`fitLogisticRegression against scikit-learn ${reference.sklearn}`, () => {
  for (const ref of reference.logistic) {
    it(`matches coef_, intercept_ and predict_proba (${ref.name})`, () => {
      const model = fitLogisticRegression(ref.x, ref.y, { classCount: ref.classCount, c: ref.c, tolerance: 1e-10 });
      expect(model.converged).toBe(true);
      const dims = ref.x[0]!.length;
      // sklearn's binary coef_ is one row: the difference of the two multinomial rows.
      const row = (k: number) =>
        ref.classCount === 2
          ? Array.from({ length: dims }, (_, j) => model.weights[dims + j]! - model.weights[j]!)
          : Array.from(model.weights.subarray(k * dims, (k + 1) * dims));
      const intercept = ref.classCount === 2 ? [model.intercept[1]! - model.intercept[0]!] : [...model.intercept];
      ref.coef.forEach((expected, k) => expectClose(row(k), expected, COEF_TOLERANCE));
      expectClose(intercept, ref.intercept, COEF_TOLERANCE);
      ref.x.forEach((x, i) => {
        const proba = model.predictProba(x);
        expectClose([...proba], ref.proba[i]!, PROBA_TOLERANCE);
        expect(model.predict(x)).toBe(argmax(ref.proba[i]!));
      });
    });
  }

  it('regularises harder at smaller C', () => {
    const ref = reference.logistic.find((r) => r.classCount > 2)!;
    const norm = (c: number) => {
      const model = fitLogisticRegression(ref.x, ref.y, { classCount: ref.classCount, c });
      return Math.hypot(...model.weights);
    };
    expect(norm(0.01)).toBeLessThan(norm(0.1));
    expect(norm(0.1)).toBeLessThan(norm(1));
  });

  it('keeps probabilities finite and summing to 1 for huge logits', () => {
    const model = fitLogisticRegression([[-1], [1]], [0, 1], { classCount: 2, c: 1e6 });
    for (const p of [model.predictProba([1e6]), model.predictProba([-1e6])]) {
      expect(p.every(Number.isFinite)).toBe(true);
      expect(p[0]! + p[1]!).toBeCloseTo(1, 12);
    }
    expect(model.predict([1e6])).toBe(1);
  });

  it('reports an unconverged fit when the iteration budget runs out', () => {
    const ref = reference.logistic[0]!;
    const model = fitLogisticRegression(ref.x, ref.y, { classCount: ref.classCount, maxIterations: 3 });
    expect(model).toMatchObject({ converged: false, iterations: 3 });
  });

  it('refuses ragged rows and labels outside the classes', () => {
    const fit = (x: number[][], y: number[]) => () => fitLogisticRegression(x, y, { classCount: 2 });
    expect(fit([[1, 2], [3]], [0, 1])).toThrow(InvalidInputError);
    expect(fit([[1], [2]], [0, 2])).toThrow(/label 2 of row 1/);
    expect(fit([[1], [2]], [0])).toThrow(/2 rows but 1 labels/);
    expect(fit([], [])).toThrow(InvalidInputError);
  });
});

describe('fitStandardizer', () => {
  it('centres and scales by the population standard deviation, a constant feature by 1', () => {
    const standardizer = fitStandardizer([
      [1, 10, 5],
      [3, 10, 5],
      [5, 10, 5],
    ]);
    expect([...standardizer.mean]).toEqual([3, 10, 5]);
    expect(standardizer.scale[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect([...standardizer.scale.subarray(1)]).toEqual([1, 1]);
    const row = applyStandardizer(standardizer, [5, 12, 5]);
    expect(row[0]).toBeCloseTo(2 / Math.sqrt(8 / 3), 12);
    expect([...row.subarray(1)]).toEqual([2, 0]);
  });

  it('keeps the variance of features with a large mean', () => {
    const standardizer = fitStandardizer([[1e9 + 1], [1e9 - 1]]);
    expect(standardizer.scale[0]).toBeCloseTo(1, 9);
  });

  it('refuses a row of the wrong width', () => {
    expect(() => applyStandardizer(fitStandardizer([[1, 2]]), [1])).toThrow(InvalidInputError);
  });
});

function expectClose(actual: number[], expected: number[], tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!)));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

function argmax(values: number[]): number {
  return values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);
}
