// int8 vs fp32 on a real model through biovec's converter: min/mean cosine of the pooled
// vectors over biomedical texts (SciFact abstracts + ChemProt sentences from ../shared), how
// far an int8 vector moves with its batch-mates, and tokens/s of both graphs on the same texts
// in alternating rounds.
//   npx tsx scripts/quantize-gate.ts --model .models/all-MiniLM-L6-v2 [--texts 600] [--keep-fp32 'output\.dense$'] [--json]
import { mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { loadEmbedder } from '../src/embedding/load-embedder.js';
import { cpuFlags } from './lib/cpu-flags.js';
import { loadGateTexts } from './lib/gate-texts.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: '.models/all-MiniLM-L6-v2' },
    texts: { type: 'string', default: '600' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    'keep-fp32': { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
  },
});
const texts = await loadGateTexts(Number(values.texts));
const cacheDir = await mkdtemp(join(tmpdir(), 'biovec-qgate-'));
const keepFp32 = values['keep-fp32'];
const base = { model: values.model!, threads: Number(values.threads), cacheDir, hfHubOffline: true, inference: 'inline' as const };
const fp32 = await loadEmbedder(loadConfig({}, { ...base, quantize: 'none' }));
const int8 = await loadEmbedder(loadConfig({}, { ...base, quantize: 'int8' }), { keepFp32 });

const tokens = (await fp32.tokenize(texts, { addSpecialTokens: true })).reduce((s, t) => s + t.length, 0);
let bestFp32 = 0;
let bestInt8 = 0;
let a: Float32Array[] = [];
let b: Float32Array[] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  let t = performance.now();
  a = (await fp32.embed(texts)).map((e) => e.vector);
  bestFp32 = Math.max(bestFp32, tokens / ((performance.now() - t) / 1000));
  t = performance.now();
  b = (await int8.embed(texts)).map((e) => e.vector);
  bestInt8 = Math.max(bestInt8, tokens / ((performance.now() - t) / 1000));
}
const cos = a.map((v, i) => cosine(v, b[i]!));
// int8 activation scales are per batch (but for the FFN down-projections), so a text's int8
// vector depends on what it is batched with: each text embedded on its own against the batched run.
const alone: Float32Array[] = [];
for (const text of texts) alone.push((await int8.embed([text]))[0]!.vector);
const aloneCos = alone.map((v, i) => cosine(v, b[i]!));
const result = {
  model: values.model,
  texts: texts.length,
  tokens,
  keep_fp32: keepFp32 ?? 'default',
  min_cosine: Math.min(...cos),
  mean_cosine: cos.reduce((s, c) => s + c, 0) / cos.length,
  int8_alone_vs_batched: { min_cosine: Math.min(...aloneCos), mean_cosine: aloneCos.reduce((s, c) => s + c, 0) / aloneCos.length },
  fp32_tokens_per_s: Math.round(bestFp32),
  int8_tokens_per_s: Math.round(bestInt8),
  int8_speedup: Number((bestInt8 / bestFp32).toFixed(2)),
  threads: Number(values.threads),
  cpu: cpus()[0]?.model,
  cpu_flags: cpuFlags(),
  loadavg: loadavg().map((l) => Number(l.toFixed(2))),
};
process.stdout.write(`${JSON.stringify(result, null, values.json ? 0 : 2)}\n`);
await fp32.close();
await int8.close();

function cosine(x: Float32Array, y: Float32Array): number {
  let dot = 0, nx = 0, ny = 0;
  for (let i = 0; i < x.length; i++) { dot += x[i]! * y[i]!; nx += x[i]! * x[i]!; ny += y[i]! * y[i]!; }
  return dot / Math.sqrt(nx * ny);
}
