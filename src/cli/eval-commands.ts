import { createWriteStream } from 'node:fs';
import { Option, type Command } from 'commander';
import { getCollection } from '../catalog/collections.js';
import { exportFilter } from '../exports/export-service.js';
import { probeCollection, probeHoldout, type HoldoutEvalResult, type ProbeEvalResult } from '../eval/probe-eval.js';
import { evaluateRetrieval, type RetrievalEvalResult, type SearchMode } from '../eval/retrieval-eval.js';
import { DEFAULT_FUSION, type FusionMethod } from '../search/fusion.js';
import { InvalidInputError } from '../lib/errors.js';
import { configFrom } from './config-options.js';
import { createProgress, type Progress } from './progress.js';
import { withModelAndStores, withStores } from './with-stores.js';

/** `eval retrieval` and `eval probe`: how good the vectors are, measured on the configured stores. */
export function addEvalCommands(program: Command, env: Record<string, string | undefined>): void {
  const evalCommand = program.command('eval').description('Measure retrieval quality (BEIR datasets) and classification-readiness (linear probe)');
  evalCommand
    .command('retrieval')
    .description('Ingest a BEIR dataset into a fresh collection, run its judged queries through search, print nDCG@10, recall@10/100, MRR@10')
    .requiredOption('--dataset <dir>', 'BEIR dataset directory: corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv')
    .option('--split <name>', 'qrels split', 'test')
    .option('-c, --collection <name>', 'collection to ingest into (default eval-<dataset dir name>); an existing one is emptied first')
    .option('--reuse', 'keep an existing collection of that name: unchanged documents are not embedded again')
    .option('--mode <modes>', 'search modes to score, comma-separated: dense, lexical, hybrid (the first one\'s figures are the top-level ones)', 'hybrid')
    .addOption(new Option('--fusion <method>', 'how hybrid fuses its legs').choices(['weighted', 'rrf']).default(DEFAULT_FUSION.method))
    .option('--dense-weight <w>', 'weighted fusion: the dense leg\'s share, 0..1', String(DEFAULT_FUSION.denseWeight))
    .option('--rrf-k <k>', 'rrf fusion: the k in 1/(k + rank)', String(DEFAULT_FUSION.rrfK))
    .option('--trec-run <file>', 'also write the ranked results as a TREC run file (for trec_eval); with several modes, one file per mode, <file>.<mode>')
    .option('--json', 'print one JSON line')
    .action(async (o: { dataset: string; split: string; collection?: string; reuse?: boolean; trecRun?: string; json?: boolean; mode: string; fusion: FusionMethod; denseWeight: string; rrfK: string }, cmd: Command) => {
      const modes = parseModes(o.mode);
      const denseWeight = Number(o.denseWeight);
      const rrfK = Number(o.rrfK);
      if (!(denseWeight >= 0 && denseWeight <= 1)) throw new InvalidInputError(`--dense-weight must be a number from 0 to 1, got ${o.denseWeight}`);
      if (!(Number.isInteger(rrfK) && rrfK >= 1)) throw new InvalidInputError(`--rrf-k must be a positive integer, got ${o.rrfK}`);
      await withModelAndStores(configFrom(cmd, env), async (embedder, { database, index }) => {
        const bars: Partial<Record<'ingest' | 'search', Progress>> = {};
        const runs = new Map(o.trecRun ? modes.map((m) => [m, createWriteStream(modes.length === 1 ? o.trecRun! : `${o.trecRun!}.${m}`)] as const) : []);
        const result = await evaluateRetrieval({
          db: database.db, index, embedder, dataset: o.dataset, split: o.split, collection: o.collection, reuse: o.reuse,
          modes, fusion: { method: o.fusion, dense_weight: denseWeight, rrf_k: rrfK },
          onProgress: ({ phase, done, total }) => {
            let bar = bars[phase];
            if (!bar) {
              if (phase === 'search') bars.ingest?.stop();
              bar = bars[phase] = createProgress(phase === 'ingest' ? 'ingesting corpus' : 'searching', { unit: phase === 'ingest' ? 'bytes' : 'items' });
              bar.setTotal(total);
            }
            bar.update(done);
          },
          onQuery: (qid, ranked, mode) => ranked.forEach((h, i) => runs.get(mode)?.write(`${qid} Q0 ${h.id} ${i + 1} ${h.score} ${modes.length === 1 ? 'biovec' : `biovec-${mode}`}\n`)),
        });
        for (const bar of Object.values(bars)) bar.stop();
        for (const run of runs.values()) await new Promise<void>((resolve, reject) => run.end((err?: Error | null) => (err ? reject(err) : resolve())));
        for (const e of result.errors.slice(0, 20)) process.stderr.write(`biovec: corpus record ${e.record} skipped: ${e.detail}\n`);
        const { errors: _errors, ...summary } = result;
        process.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : formatRetrieval(result));
      });
    });

  evalCommand
    .command('probe')
    .description('How classification-ready a collection\'s vectors are: k-fold cross-validated logistic regression on exported vectors and a label')
    .requiredOption('-c, --collection <name>', 'collection')
    .requiredOption('--label <field>', 'what to predict: labels (documents with one label) or a metadata field (metadata.<key>)')
    .option('--test-collection <name>', 'fit on --collection and score on this one (an official test split) instead of cross-validating')
    .option('--folds <k>', 'cross-validation folds', '5')
    .option('--seed <n>', 'seed of the fold assignment', '0')
    .option('--c <value>', 'inverse L2 regularisation strength, as scikit-learn\'s C', '1')
    .option('--min-class-size <n>', 'leave out classes with fewer documents (default: the fold count)')
    .addOption(new Option('--doc-vector <how>', 'per-document vector: first chunk (eos1086) or mean of chunks').choices(['first', 'mean']).default('first'))
    .option('--labels <list>', 'only documents with any of these comma-separated labels')
    .option('--json', 'print one JSON line')
    .action(async (o: { collection: string; label: string; folds: string; seed: string; c: string; docVector: 'first' | 'mean'; labels?: string; minClassSize?: string; testCollection?: string; json?: boolean }, cmd: Command) => {
      const folds = Number(o.folds);
      const minClassSize = o.minClassSize === undefined ? undefined : Number(o.minClassSize);
      if (minClassSize !== undefined && !(Number.isInteger(minClassSize) && minClassSize >= 1)) throw new InvalidInputError(`--min-class-size must be a positive integer, got ${o.minClassSize}`);
      const seed = Number(o.seed);
      const c = Number(o.c);
      if (!Number.isInteger(folds) || folds < 2) throw new InvalidInputError(`--folds must be an integer of at least 2, got ${o.folds}`);
      if (!Number.isInteger(seed)) throw new InvalidInputError(`--seed must be an integer, got ${o.seed}`);
      if (!(c > 0)) throw new InvalidInputError(`--c must be a positive number, got ${o.c}`);
      await withStores(configFrom(cmd, env), async ({ database }) => {
        const collection = await getCollection(database.db, o.collection);
        const bar = createProgress(o.testCollection ? 'fitting' : 'cross-validating', { unit: 'items' });
        const common = {
          db: database.db, collection, label: o.label, docVector: o.docVector, filter: exportFilter({ labels: o.labels }), folds, seed, c, minClassSize,
          onProgress: ({ done, total }: { done: number; total: number }) => {
            bar.setTotal(total);
            bar.update(done);
          },
        };
        if (o.testCollection) {
          const result = await probeHoldout({ ...common, testCollection: await getCollection(database.db, o.testCollection) });
          bar.stop();
          process.stdout.write(o.json ? `${JSON.stringify(result)}\n` : formatHoldout(result));
          return;
        }
        const result = await probeCollection(common);
        bar.stop();
        process.stdout.write(o.json ? `${JSON.stringify(result)}\n` : formatProbe(result));
      });
    });
}

const MODES: SearchMode[] = ['dense', 'lexical', 'hybrid'];

function parseModes(list: string): SearchMode[] {
  const modes = [...new Set(list.split(',').map((m) => m.trim()).filter(Boolean))];
  const bad = modes.find((m) => !MODES.includes(m as SearchMode));
  if (bad !== undefined || modes.length === 0) throw new InvalidInputError(`--mode takes dense, lexical and/or hybrid, comma-separated; got ${list}`);
  return modes as SearchMode[];
}

function formatHoldout(r: HoldoutEvalResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return [
    `train        ${r.collection}: ${r.train_rows} documents   test  ${r.test_collection}: ${r.test_rows} documents   (${r.model}, predicting ${r.label})`,
    `classes      ${r.classes.map((k) => `${k.label} ${k.train}/${k.test}`).join(', ')}   (train/test)`,
    ...(r.unseen_test_rows ? [`unseen       ${r.unseen_test_rows} test documents have a label training never shows`] : []),
    `baseline     majority class ${pct(r.majority_accuracy)} accuracy`,
    '',
    `test         accuracy ${pct(r.test.accuracy)}   macro-F1 ${pct(r.test.macroF1)}   micro-F1 ${pct(r.test.microF1)}${r.converged ? '' : '  (not converged)'}`,
    '',
  ].join('\n');
}

function formatProbe(r: ProbeEvalResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)}`;
  const skipped = r.skipped.unlabelled + r.skipped.multi_label;
  const rare = r.skipped.rare_classes.map((k) => `${k.label} ${k.count}`).join(', ');
  return [
    `collection   ${r.collection} (${r.model}), predicting ${r.label}: ${r.rows} documents${skipped ? ` (${r.skipped.unlabelled} unlabelled and ${r.skipped.multi_label} multi-label left out)` : ''}`,
    ...(rare ? [`left out     classes smaller than the folds allow: ${rare}`] : []),
    `classes      ${r.classes.map((k) => `${k.label} ${k.count}`).join(', ')}`,
    `baseline     majority class ${pct(r.majority_accuracy)}% accuracy`,
    '',
    'fold   train   test   accuracy   macro-F1   micro-F1',
    ...r.folds.map((f) => `${String(f.fold + 1).padStart(4)} ${String(f.trainSize).padStart(7)} ${String(f.testSize).padStart(6)}     ${pct(f.accuracy)}%     ${pct(f.macroF1)}%     ${pct(f.microF1)}%${f.converged ? '' : '  (not converged)'}`),
    `mean ± sd             ${pct(r.mean.accuracy)}% ±${(100 * r.std.accuracy).toFixed(1)}  ${pct(r.mean.macroF1)}% ±${(100 * r.std.macroF1).toFixed(1)}  ${pct(r.mean.microF1)}% ±${(100 * r.std.microF1).toFixed(1)}`,
    `overall               ${pct(r.overall.accuracy)}%     ${pct(r.overall.macroF1)}%     ${pct(r.overall.microF1)}%   (pooled out-of-fold predictions)`,
    '',
  ].join('\n');
}

function formatRetrieval(r: RetrievalEvalResult): string {
  const prompt = (p: string) => (p ? JSON.stringify(p) : 'none');
  return [
    `dataset      ${r.dataset} (${r.split}): ${r.docs} documents${r.failed_docs ? `, ${r.failed_docs} failed` : ''}, ${r.queries} queries${r.skipped_queries ? ` (${r.skipped_queries} without text skipped)` : ''}`,
    `model        ${r.model.id}: ${r.model.dims}-d, ${r.model.pooling} pooling${r.model.normalize ? ', normalized' : ''}, ${r.model.max_tokens} tokens`,
    `prompts      query ${prompt(r.model.prompts.query)}, document ${prompt(r.model.prompts.document)}`,
    `collection   ${r.collection}`,
    '',
    `mode         ${r.mode}`,
    `nDCG@10      ${r.ndcg_at_10.toFixed(4)}`,
    `recall@10    ${r.recall_at_10.toFixed(4)}`,
    `recall@100   ${r.recall_at_100.toFixed(4)}`,
    `MRR@10       ${r.mrr_at_10.toFixed(4)}`,
    '',
    ...(Object.keys(r.modes).length > 1
      ? [
          'mode         nDCG@10   recall@10   recall@100   MRR@10',
          ...Object.entries(r.modes).map(([mode, s]) => `${mode.padEnd(12)} ${s.ndcg_at_10.toFixed(4).padStart(7)}   ${s.recall_at_10.toFixed(4).padStart(9)}   ${s.recall_at_100.toFixed(4).padStart(10)}   ${s.mrr_at_10.toFixed(4).padStart(6)}`),
          '',
        ]
      : []),
    `time         ${r.seconds.toFixed(1)} s (ingest ${r.ingest_seconds.toFixed(1)} s, search ${r.search_seconds.toFixed(1)} s)`,
    '',
  ].join('\n');
}
