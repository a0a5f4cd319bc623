// Prints how closely biovec reproduces transformers on the committed fixtures:
//   npm run -s parity [-- --json]
// max_abs_diff_cls / max_abs_diff_hidden: worst fp32 difference over the tiny RoBERTa (fp32
// and fp16 checkpoints), BERT and the BERT ONNX export; tokenizer_mismatches: strings whose
// ids differ from transformers' fast tokenizers (real biomed_roberta_base and PubMedBERT
// vocabularies when ../shared is present).
import { availableTokenizerCases, measureModelParity, measureTokenizerParity } from '../test/helpers/parity.js';
import { HAS_SHARED, SHARED_REASON } from '../test/helpers/fixtures.js';

const asJson = process.argv.includes('--json');
const models = [
  await measureModelParity('tiny-roberta'),
  await measureModelParity('tiny-roberta-fp16'),
  await measureModelParity('tiny-bert'),
  await measureModelParity('tiny-bert-onnx', { weights: 'onnx' }),
];
const tokenizers = [];
for (const c of availableTokenizerCases()) tokenizers.push(await measureTokenizerParity(c.name, c.dir()));

const summary = {
  max_abs_diff_cls: Math.max(...models.map((m) => m.maxAbsDiffCls)),
  max_abs_diff_hidden: Math.max(...models.map((m) => m.maxAbsDiffHidden)),
  max_abs_diff_mean: Math.max(...models.map((m) => m.maxAbsDiffMean)),
  tokenizer_mismatches: tokenizers.reduce((sum, t) => sum + t.mismatches, 0),
  tokenizer_strings: tokenizers.reduce((sum, t) => sum + t.strings, 0),
  tokenizers: tokenizers.map((t) => t.tokenizer),
  models: models.map((m) => m.model),
  ...(HAS_SHARED ? {} : { note: `real tokenizers skipped: ${SHARED_REASON}` }),
};
if (asJson) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  for (const m of models) {
    console.log(`${m.model.padEnd(18)} hidden ${m.maxAbsDiffHidden.toExponential(2)}  cls ${m.maxAbsDiffCls.toExponential(2)}  mean ${m.maxAbsDiffMean.toExponential(2)}`);
  }
  for (const t of tokenizers) console.log(`${t.tokenizer.padEnd(34)} ${t.strings - t.mismatches}/${t.strings} strings match`);
  if (!HAS_SHARED) console.log(`note: ${SHARED_REASON}`);
}
const failed = summary.max_abs_diff_cls > 1e-4 || summary.max_abs_diff_hidden > 1e-4 || summary.tokenizer_mismatches > 0;
process.exitCode = failed ? 1 : 0;
