import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../test/helpers/fixtures.js';
import { InvalidInputError } from '../lib/errors.js';
import { classificationScores, crossValidateProbe, evaluateHoldout, stratifiedKFold } from './cross-validation.js';

interface ScoreCase {
  name: string;
  truth: number[];
  predicted: number[];
  accuracy: number;
  macroF1: number;
  microF1: number;
}

/** scikit-learn's scores, written by scripts/python/make_probe_refs.py. */
const reference = JSON.parse(readFileSync(join(FIXTURES, 'probe', 'reference.json'), 'utf8')) as {
  sklearn: string;
  scores: ScoreCase[];
};

/** Deterministic standard normals (xorshift32 + Box-Muller), so the probe tests never flake. */
function gaussians(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

describe(`classificationScores against scikit-learn ${reference.sklearn}`, () => {
  for (const ref of reference.scores) {
    it(`matches accuracy_score and f1_score macro/micro (${ref.name})`, () => {
      // Two spare classes in neither vector: scikit-learn leaves them out of the macro mean.
      const classCount = Math.max(...ref.truth, ...ref.predicted) + 3;
      const scores = classificationScores(ref.truth, ref.predicted, classCount);
      expect(scores.accuracy).toBeCloseTo(ref.accuracy, 12);
      expect(scores.macroF1).toBeCloseTo(ref.macroF1, 12);
      expect(scores.microF1).toBeCloseTo(ref.microF1, 12);
    });
  }

  it('refuses vectors of different lengths and labels outside the classes', () => {
    expect(() => classificationScores([0, 1], [0], 2)).toThrow(InvalidInputError);
    expect(() => classificationScores([], [], 2)).toThrow(InvalidInputError);
    expect(() => classificationScores([0, 2], [0, 1], 2)).toThrow(/outside 0 … 1 at 1/);
    expect(() => classificationScores([0, 1], [0.5, 1], 2)).toThrow(/outside 0 … 1 at 0/);
  });
});

describe('stratifiedKFold', () => {
  const labels = [...new Array<number>(10).fill(7), ...new Array<number>(7).fill(3), ...new Array<number>(4).fill(9)];

  it('partitions the rows, with classes and fold sizes balanced to within one', () => {
    const folds = stratifiedKFold(labels, 3, 42);
    expect(folds.flat().sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
    for (const fold of folds) {
      expect(fold).toEqual([...fold].sort((a, b) => a - b));
      expect(fold.length).toBe(7);
    }
    for (const [label, total] of [[7, 10], [3, 7], [9, 4]] as const) {
      const perFold = folds.map((fold) => fold.filter((i) => labels[i] === label).length);
      expect(Math.max(...perFold) - Math.min(...perFold)).toBeLessThanOrEqual(1);
      expect(perFold.reduce((a, b) => a + b)).toBe(total);
    }
  });

  it('is deterministic per seed and shuffles differently across seeds', () => {
    expect(stratifiedKFold(labels, 3, 1)).toEqual(stratifiedKFold(labels, 3, 1));
    expect(stratifiedKFold(labels, 3, 1)).not.toEqual(stratifiedKFold(labels, 3, 2));
  });

  it('refuses fewer than 2 folds or more folds than rows', () => {
    expect(() => stratifiedKFold(labels, 1, 0)).toThrow(InvalidInputError);
    expect(() => stratifiedKFold(labels, 2.5, 0)).toThrow(/integer ≥ 2/);
    expect(() => stratifiedKFold([0, 1, 0], 4, 0)).toThrow(/3 rows into 4 folds/);
  });
});

/** `perClass` rows per class around centres `separation` apart on their own axes. */
function clusters(opts: { classes: string[]; perClass: number; dims: number; separation: number; seed: number }) {
  const normal = gaussians(opts.seed);
  const vectors: Float32Array[] = [];
  const labels: string[] = [];
  for (let i = 0; i < opts.perClass; i++) {
    opts.classes.forEach((label, c) => {
      const v = Float32Array.from({ length: opts.dims }, normal);
      v[c]! += opts.separation;
      vectors.push(v);
      labels.push(label);
    });
  }
  return { vectors, labels };
}

describe('crossValidateProbe', () => {
  it('scores well-separated clusters perfectly, reporting every fold', async () => {
    const data = clusters({ classes: ['b', 'c', 'a'], perClass: 30, dims: 16, separation: 12, seed: 7 });
    const progress: [number, number][] = [];
    const result = await crossValidateProbe({ ...data, onFold: (done, total) => progress.push([done, total]) });
    expect(result.classes).toEqual(['a', 'b', 'c']);
    expect(progress).toEqual([[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
    expect(result.folds.map((f) => [f.fold, f.trainSize, f.testSize])).toEqual(
      [0, 1, 2, 3, 4].map((fold) => [fold, 72, 18]),
    );
    expect(result.folds.every((f) => f.converged && f.iterations > 0)).toBe(true);
    expect(result.overall).toEqual({ accuracy: 1, macroF1: 1, microF1: 1 });
    expect(result.mean).toEqual({ accuracy: 1, macroF1: 1, microF1: 1 });
    expect(result.std).toEqual({ accuracy: 0, macroF1: 0, microF1: 0 });
  });

  it('scores random labels near chance', async () => {
    const normal = gaussians(11);
    const vectors = Array.from({ length: 600 }, () => Float32Array.from({ length: 10 }, normal));
    // The vectors are drawn independently of the labels, so no probe can beat chance.
    const labels = vectors.map((_, i) => ['x', 'y', 'z'][i % 3]!);
    const result = await crossValidateProbe({ vectors, labels, folds: 4, seed: 3 });
    // Chance is about 1/3 here; ±0.1 is over 5 standard errors at 600 rows.
    expect(Math.abs(result.overall.accuracy - 1 / 3)).toBeLessThan(0.1);
    expect(result.overall.macroF1).toBeLessThan(0.45);
    expect(result.mean.accuracy).toBeCloseTo(result.overall.accuracy, 1);
    expect(result.std.accuracy).toBeGreaterThan(0);
  });

  it('depends on the seed only through the folds', async () => {
    const data = clusters({ classes: ['p', 'q'], perClass: 20, dims: 4, separation: 1, seed: 5 });
    const [a, b, c] = await Promise.all([0, 0, 9].map((seed) => crossValidateProbe({ ...data, seed })));
    expect(a).toEqual(b);
    expect(a!.folds).not.toEqual(c!.folds);
  });

  it('refuses one class, a class smaller than the folds and mismatched lengths', async () => {
    const v = (n: number) => Array.from({ length: n }, (_, i) => Float32Array.of(i, -i));
    await expect(crossValidateProbe({ vectors: v(10), labels: new Array<string>(10).fill('only') })).rejects.toThrow(
      /at least 2 classes, got 1/,
    );
    const labels = [...new Array<string>(8).fill('big'), 'rare', 'rare', 'rare'];
    await expect(crossValidateProbe({ vectors: v(11), labels })).rejects.toThrow(
      /class "rare" has 3 members, fewer than the 5 folds/,
    );
    await expect(crossValidateProbe({ vectors: v(11), labels, folds: 3 })).resolves.toBeDefined();
    await expect(crossValidateProbe({ vectors: v(3), labels })).rejects.toThrow(InvalidInputError);
  });
});

describe('evaluateHoldout', () => {
  it('fits on one side and scores the other, with unseen test labels counted wrong', () => {
    const train = clusters({ classes: ['a', 'b', 'c'], perClass: 30, dims: 6, separation: 8, seed: 3 });
    const test = clusters({ classes: ['a', 'b', 'c'], perClass: 10, dims: 6, separation: 8, seed: 4 });
    const clean = evaluateHoldout({ train, test });
    expect(clean).toMatchObject({ classes: ['a', 'b', 'c'], trainSize: 90, testSize: 30, unseenTestRows: 0, converged: true });
    expect(clean.scores.accuracy).toBe(1);
    expect(clean.majorityAccuracy).toBeCloseTo(1 / 3, 10);
    // Three test rows of a class training never saw: always wrong, and F1 0 for that class.
    const withUnseen = { vectors: [...test.vectors, ...test.vectors.slice(0, 3)], labels: [...test.labels, 'z', 'z', 'z'] };
    const r = evaluateHoldout({ train, test: withUnseen });
    expect(r).toMatchObject({ classes: ['a', 'b', 'c', 'z'], unseenTestRows: 3 });
    expect(r.scores.accuracy).toBeCloseTo(30 / 33, 10);
    expect(r.scores.macroF1).toBeLessThan(0.8);
  });

  it('refuses an empty side or a single training class', () => {
    const train = clusters({ classes: ['a', 'b'], perClass: 5, dims: 3, separation: 4, seed: 1 });
    expect(() => evaluateHoldout({ train, test: { vectors: [], labels: [] } })).toThrow(InvalidInputError);
    expect(() => evaluateHoldout({ train: { vectors: train.vectors.slice(0, 5), labels: train.labels.slice(0, 5).map(() => 'a') }, test: train })).toThrow(/at least 2 classes/);
  });
});
