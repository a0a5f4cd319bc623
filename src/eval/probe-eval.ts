import { differingBindings, type CollectionRecord } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import { exportRows } from '../exports/export-service.js';
import { InvalidInputError } from '../lib/errors.js';
import type { Filter } from '../vectors/vector-index.js';
import { crossValidateProbe, evaluateHoldout, type ClassificationScores, type ProbeResult } from './cross-validation.js';

export interface ProbeEvalOptions {
  db: Database;
  collection: CollectionRecord;
  /** `labels` (a document's single label) or a metadata field, as `metadata.<key>` or `<key>`. */
  label: string;
  /** Per-document vector: the first chunk (eos1086's) or the mean of the chunks, as exports give it. */
  docVector?: 'first' | 'mean';
  filter?: Filter;
  folds?: number;
  seed?: number;
  c?: number;
  /** Classes with fewer documents are left out (reported); default: the fold count, the least stratified folds need. */
  minClassSize?: number;
  /** Model fits done out of total (the folds, or 1 for a fixed split). */
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface ProbeEvalResult {
  collection: string;
  model: string;
  label: string;
  rows: number;
  /** Documents left out: no value for the label, or several labels (a multi-label set is another task). */
  skipped: { unlabelled: number; multi_label: number; rare_classes: { label: string; count: number }[] };
  classes: { label: string; count: number }[];
  /** Accuracy of always answering the most frequent class: the floor the probe must clear. */
  majority_accuracy: number;
  folds: (ProbeResult['folds'][number])[];
  overall: ClassificationScores;
  mean: ClassificationScores;
  std: ClassificationScores;
  seconds: number;
}

function labelReader(field: string): (row: { labels: string[]; metadata: Record<string, unknown> }) => string | string[] | undefined {
  if (field === 'labels') return (row) => (row.labels.length === 0 ? undefined : row.labels.length === 1 ? row.labels[0] : row.labels);
  const key = field.startsWith('metadata.') ? field.slice('metadata.'.length) : field;
  return (row) => {
    const value = row.metadata[key];
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
  };
}

/** A collection's labelled document vectors, through the export path. */
async function readLabelled(opts: Pick<ProbeEvalOptions, 'db' | 'label' | 'docVector' | 'filter'>, collection: CollectionRecord) {
  const read = labelReader(opts.label);
  const vectors: Float32Array[] = [];
  const labels: string[] = [];
  const skipped: ProbeEvalResult['skipped'] = { unlabelled: 0, multi_label: 0, rare_classes: [] };
  for await (const row of exportRows(opts.db, collection, { format: 'jsonl', rows: 'document', pooling: opts.docVector ?? 'first', filter: opts.filter })) {
    const value = read(row);
    if (value === undefined || value === '') skipped.unlabelled += 1;
    else if (Array.isArray(value)) skipped.multi_label += 1;
    else {
      vectors.push(row.vector);
      labels.push(value);
    }
  }
  if (vectors.length === 0) {
    throw new InvalidInputError(`no document of collection ${collection.name} has a single value for ${opts.label} (${skipped.unlabelled} without, ${skipped.multi_label} with several)`, [{ pointer: '/label', detail: 'no labelled documents' }]);
  }
  return { vectors, labels, skipped };
}

/**
 * A linear probe on a collection's exported vectors: k-fold cross-validated multinomial
 * logistic regression (standardised features, L2) predicting `label`, scored per fold and
 * on the pooled out-of-fold predictions. Throws InvalidInputError when the labels cannot
 * support it (fewer than two classes, a class smaller than the fold count).
 */
export async function probeCollection(opts: ProbeEvalOptions): Promise<ProbeEvalResult> {
  const started = performance.now();
  const { vectors, labels, skipped } = await readLabelled(opts, opts.collection);
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const minClassSize = opts.minClassSize ?? opts.folds ?? 5;
  const rare = new Set([...counts].filter(([, n]) => n < minClassSize).map(([l]) => l));
  skipped.rare_classes = [...rare].sort().map((label) => ({ label, count: counts.get(label)! }));
  const kept = labels.flatMap((l, i) => (rare.has(l) ? [] : [i]));
  const probe = await crossValidateProbe({ vectors: kept.map((i) => vectors[i]!), labels: kept.map((i) => labels[i]!), folds: opts.folds, seed: opts.seed, c: opts.c, onFold: (done, total) => opts.onProgress?.({ done, total }) });
  return {
    collection: opts.collection.name, model: opts.collection.modelId, label: opts.label, rows: kept.length, skipped,
    classes: probe.classes.map((label) => ({ label, count: counts.get(label)! })),
    majority_accuracy: Math.max(...probe.classes.map((l) => counts.get(l)!)) / kept.length,
    folds: probe.folds, overall: probe.overall, mean: probe.mean, std: probe.std,
    seconds: (performance.now() - started) / 1000,
  };
}

export interface HoldoutEvalResult {
  collection: string;
  test_collection: string;
  model: string;
  label: string;
  train_rows: number;
  test_rows: number;
  skipped: { train: ProbeEvalResult['skipped']; test: ProbeEvalResult['skipped'] };
  classes: { label: string; train: number; test: number }[];
  /** Test rows whose label the training collection never has (always wrong). */
  unseen_test_rows: number;
  majority_accuracy: number;
  test: ClassificationScores;
  converged: boolean;
  seconds: number;
}

/**
 * The probe fit on one collection and scored on another (an official test split), so rows
 * that share a source, such as one sentence marked for several entity pairs, cannot sit on
 * both sides. Throws InvalidInputError as probeCollection does, and when the two collections
 * hold vectors of different models.
 */
export async function probeHoldout(opts: ProbeEvalOptions & { testCollection: CollectionRecord }): Promise<HoldoutEvalResult> {
  const started = performance.now();
  const [a, b] = [opts.collection, opts.testCollection];
  const differing = differingBindings(a, b);
  if (differing.length > 0) {
    throw new InvalidInputError(`collections ${a.name} and ${b.name} hold vectors of different model configurations (${differing.join(', ')})`, [{ pointer: '/test_collection', detail: 'must be embedded like the training collection' }]);
  }
  const train = await readLabelled(opts, a);
  const test = await readLabelled(opts, b);
  opts.onProgress?.({ done: 0, total: 1 });
  const r = evaluateHoldout({ train, test, c: opts.c });
  opts.onProgress?.({ done: 1, total: 1 });
  const count = (labels: string[], l: string) => labels.filter((x) => x === l).length;
  return {
    collection: a.name, test_collection: b.name, model: a.modelId, label: opts.label, train_rows: r.trainSize, test_rows: r.testSize,
    skipped: { train: train.skipped, test: test.skipped },
    classes: r.classes.map((l) => ({ label: l, train: count(train.labels, l), test: count(test.labels, l) })),
    unseen_test_rows: r.unseenTestRows, majority_accuracy: r.majorityAccuracy, test: r.scores, converged: r.converged,
    seconds: (performance.now() - started) / 1000,
  };
}
