import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { InvalidInputError } from '../lib/errors.js';
import { applyStandardizer, fitLogisticRegression, fitStandardizer } from './logistic-regression.js';

export interface ClassificationScores {
  accuracy: number;
  macroF1: number;
  microF1: number;
}

export interface FoldResult extends ClassificationScores {
  fold: number;
  trainSize: number;
  testSize: number;
  iterations: number;
  converged: boolean;
}

export interface ProbeResult {
  /** Distinct labels, sorted; class i of the scores is classes[i]. */
  classes: string[];
  folds: FoldResult[];
  /** Scores of the pooled out-of-fold predictions, every row predicted once. */
  overall: ClassificationScores;
  /** Mean of the per-fold scores. */
  mean: ClassificationScores;
  /** Population standard deviation (numpy's default ddof=0) of the per-fold scores. */
  std: ClassificationScores;
}

export interface ProbeOptions {
  vectors: Float32Array[];
  labels: string[];
  /** Default 5. */
  folds?: number;
  /** Seeds the fold assignment. Default 0. */
  seed?: number;
  /** Inverse L2 strength, as scikit-learn's `C`. Default 1. */
  c?: number;
  /**
   * Stop when the largest gradient entry (objective per row) is below this. Default 1e-4,
   * scikit-learn's `tol`: a probe's scores settle long before the weights do.
   */
  tolerance?: number;
  /** Called after each fold with the folds done so far. */
  onFold?: (done: number, total: number) => void;
}

/** mulberry32: small, fast and good enough to shuffle fold assignments reproducibly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Splits row indices into k test folds the way scikit-learn's StratifiedKFold(shuffle=True)
 * does: each class's members are dealt over the folds so that per-class counts differ by at
 * most one between folds and fold sizes by at most one overall; which member lands in which
 * fold is shuffled by `seed` (a different generator from numpy's, so not the same folds).
 *
 * @returns the test indices of each fold, ascending.
 * @throws InvalidInputError when k is not an integer in 2 … rows.
 */
export function stratifiedKFold(labels: number[], k: number, seed: number): number[][] {
  if (!Number.isInteger(k) || k < 2) throw new InvalidInputError(`folds must be an integer ≥ 2, got ${k}`);
  if (k > labels.length) throw new InvalidInputError(`cannot split ${labels.length} rows into ${k} folds`);
  const members = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const rows = members.get(label);
    if (rows) rows.push(i);
    else members.set(label, [i]);
  });
  const classes = [...members.keys()].sort((a, b) => a - b);
  // Dealing the label-sorted rows round-robin balances both the fold sizes and each class.
  const allocation = classes.map(() => new Array<number>(k).fill(0));
  let position = 0;
  classes.forEach((label, c) => {
    for (let m = members.get(label)!.length; m > 0; m--) allocation[c]![position++ % k]!++;
  });
  const random = seededRandom(seed);
  const folds = Array.from({ length: k }, () => [] as number[]);
  classes.forEach((label, c) => {
    const foldOf = allocation[c]!.flatMap((count, fold) => new Array<number>(count).fill(fold));
    for (let i = foldOf.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [foldOf[i], foldOf[j]] = [foldOf[j]!, foldOf[i]!];
    }
    members.get(label)!.forEach((row, m) => folds[foldOf[m]!]!.push(row));
  });
  return folds.map((fold) => fold.sort((a, b) => a - b));
}

/**
 * Accuracy and F1 with scikit-learn's definitions: macro F1 is the unweighted mean of per-class
 * F1 = 2·tp / (2·tp + fp + fn) over the classes that occur in truth or predictions (a class
 * never predicted scores 0; one in neither is left out); micro F1 pools tp, fp and fn.
 *
 * @throws InvalidInputError when the lengths differ, are 0, or a label is outside 0 … classCount − 1.
 */
export function classificationScores(truth: number[], predicted: number[], classCount: number): ClassificationScores {
  if (truth.length !== predicted.length || truth.length === 0) {
    throw new InvalidInputError(`need equal, non-zero lengths, got ${truth.length} and ${predicted.length}`);
  }
  const tp = new Array<number>(classCount).fill(0);
  const fp = new Array<number>(classCount).fill(0);
  const fn = new Array<number>(classCount).fill(0);
  const isClass = (label: number) => Number.isInteger(label) && label >= 0 && label < classCount;
  truth.forEach((t, i) => {
    const p = predicted[i]!;
    if (!isClass(t) || !isClass(p)) {
      throw new InvalidInputError(`label outside 0 … ${classCount - 1} at ${i}`);
    }
    if (t === p) {
      tp[t]!++;
    } else {
      fp[p]!++;
      fn[t]!++;
    }
  });
  const f1 = (t: number, p: number, n: number) => (2 * t) / (2 * t + p + n);
  const present = tp.map((_, k) => k).filter((k) => tp[k]! + fp[k]! + fn[k]! > 0);
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  return {
    accuracy: sum(tp) / truth.length,
    macroF1: sum(present.map((k) => f1(tp[k]!, fp[k]!, fn[k]!))) / present.length,
    microF1: f1(sum(tp), sum(fp), sum(fn)),
  };
}

/**
 * k-fold stratified cross-validation of a standardised multinomial logistic-regression probe:
 * per fold, features are standardised with statistics of the training part only, so the test
 * part leaks nothing. Yields to the event loop between folds so a progress bar can redraw.
 *
 * @throws InvalidInputError when vectors and labels differ in length, there are fewer than 2
 * classes, or a class has fewer members than folds.
 */
export async function crossValidateProbe(opts: ProbeOptions): Promise<ProbeResult> {
  const { vectors, labels } = opts;
  const k = opts.folds ?? 5;
  if (vectors.length !== labels.length) {
    throw new InvalidInputError(`${vectors.length} vectors but ${labels.length} labels`);
  }
  const classes = [...new Set(labels)].sort();
  if (classes.length < 2) throw new InvalidInputError(`a probe needs at least 2 classes, got ${classes.length}`);
  const classOf = new Map(classes.map((label, i) => [label, i]));
  const y = labels.map((label) => classOf.get(label)!);
  const counts = new Array<number>(classes.length).fill(0);
  for (const c of y) counts[c]!++;
  const tiny = counts.findIndex((n) => n < k);
  if (tiny >= 0) {
    throw new InvalidInputError(`class "${classes[tiny]}" has ${counts[tiny]} members, fewer than the ${k} folds`);
  }
  const testFolds = stratifiedKFold(y, k, opts.seed ?? 0);
  const outOfFold = new Array<number>(y.length).fill(-1);
  const folds: FoldResult[] = [];
  for (const [fold, test] of testFolds.entries()) {
    const isTest = new Uint8Array(y.length);
    for (const i of test) isTest[i] = 1;
    const train = y.map((_, i) => i).filter((i) => isTest[i] === 0);
    const standardizer = fitStandardizer(train.map((i) => vectors[i]!));
    const model = fitLogisticRegression(
      train.map((i) => applyStandardizer(standardizer, vectors[i]!)),
      train.map((i) => y[i]!),
      { classCount: classes.length, c: opts.c ?? 1, tolerance: opts.tolerance ?? 1e-4 },
    );
    const predicted = test.map((i) => model.predict(applyStandardizer(standardizer, vectors[i]!)));
    test.forEach((row, j) => (outOfFold[row] = predicted[j]!));
    const scores = classificationScores(test.map((i) => y[i]!), predicted, classes.length);
    const { iterations, converged } = model;
    folds.push({ fold, trainSize: train.length, testSize: test.length, ...scores, iterations, converged });
    opts.onFold?.(fold + 1, k);
    await yieldToEventLoop();
  }
  return { classes, folds, overall: classificationScores(y, outOfFold, classes.length), ...summarize(folds) };
}

function summarize(folds: ClassificationScores[]): { mean: ClassificationScores; std: ClassificationScores } {
  const meanOf = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const stats = (key: keyof ClassificationScores) => {
    const values = folds.map((f) => f[key]);
    const mean = meanOf(values);
    return { mean, std: Math.sqrt(meanOf(values.map((v) => (v - mean) ** 2))) };
  };
  const [accuracy, macroF1, microF1] = [stats('accuracy'), stats('macroF1'), stats('microF1')];
  return {
    mean: { accuracy: accuracy.mean, macroF1: macroF1.mean, microF1: microF1.mean },
    std: { accuracy: accuracy.std, macroF1: macroF1.std, microF1: microF1.std },
  };
}

export interface HoldoutResult {
  /** Training labels, sorted; test labels unseen in training follow them (never predicted, so F1 0). */
  classes: string[];
  trainSize: number;
  testSize: number;
  /** Test rows whose label never occurs in training. */
  unseenTestRows: number;
  scores: ClassificationScores;
  /** Accuracy on the test rows of always answering the training set's most frequent class. */
  majorityAccuracy: number;
  iterations: number;
  converged: boolean;
}

/**
 * The probe on a fixed split: fit (standardisation included) on `train`, score on `test`, as
 * benchmarks with an official test split are reported. No row of one side informs the other.
 *
 * @throws InvalidInputError when either side is empty or the training side has fewer than 2 classes.
 */
export function evaluateHoldout(opts: { train: { vectors: Float32Array[]; labels: string[] }; test: { vectors: Float32Array[]; labels: string[] }; c?: number; tolerance?: number }): HoldoutResult {
  const { train, test } = opts;
  if (train.vectors.length === 0 || test.vectors.length === 0) throw new InvalidInputError(`need labelled rows on both sides, got ${train.vectors.length} training and ${test.vectors.length} test rows`);
  const trained = [...new Set(train.labels)].sort();
  if (trained.length < 2) throw new InvalidInputError(`a probe needs at least 2 classes, got ${trained.length}`);
  const classes = [...trained, ...[...new Set(test.labels)].filter((l) => !trained.includes(l)).sort()];
  const classOf = new Map(classes.map((label, i) => [label, i]));
  const standardizer = fitStandardizer(train.vectors);
  const model = fitLogisticRegression(train.vectors.map((v) => applyStandardizer(standardizer, v)), train.labels.map((l) => classOf.get(l)!), { classCount: trained.length, c: opts.c ?? 1, tolerance: opts.tolerance ?? 1e-4 });
  const truth = test.labels.map((l) => classOf.get(l)!);
  const predicted = test.vectors.map((v) => model.predict(applyStandardizer(standardizer, v)));
  const counts = new Map<string, number>();
  for (const l of train.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const majority = [...counts].reduce((best, next) => (next[1] > best[1] ? next : best))[0];
  return {
    classes, trainSize: train.vectors.length, testSize: test.vectors.length,
    unseenTestRows: truth.filter((t) => t >= trained.length).length,
    scores: classificationScores(truth, predicted, classes.length),
    majorityAccuracy: test.labels.filter((l) => l === majority).length / test.labels.length,
    iterations: model.iterations, converged: model.converged,
  };
}
