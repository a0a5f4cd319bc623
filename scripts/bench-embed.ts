// Embedding throughput on a RoBERTa-base-sized random checkpoint, generated here at first run:
//   npm run -s bench:embed [-- --json] [--texts 64] [--rounds 2] [--threads N] [--max-batch-tokens 512]
// engine_tokens_per_s: texts in, vectors out through the tokenizer, the batcher, the
// worker-thread runner and pooling. raw_tokens_per_s: a bare onnxruntime session running the
// very batches the engine formed, pre-tokenised and pre-padded (session.run time only).
// ratio = engine / raw: what the engine costs beyond inference. Both alternate for --rounds
// and each keeps its best round; all figures come from one run.
import { copyFile, mkdir, access } from 'node:fs/promises';
import { availableParallelism, homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint } from '../src/embedding/convert/convert-checkpoint.js';
import { defaultMaxBatchTokens } from '../src/embedding/load-embedder.js';
import { OnnxEmbedder } from '../src/embedding/onnx-embedder.js';
import { InProcessRunner, WorkerRunner, type InferenceRunner } from '../src/embedding/runtime/inference-runner.js';
import { EncoderSession } from '../src/embedding/runtime/encoder-session.js';
import { TextTokenizer } from '../src/embedding/tokenizer/text-tokenizer.js';
import { HAS_SHARED, SHARED_DIR, fixtureModel } from '../test/helpers/fixtures.js';
import { loadBenchTexts } from './lib/bench-texts.js';
import { startPeers } from './lib/peer-process.js';
import { cpuFlags } from './lib/cpu-flags.js';
import { ROBERTA_BASE, writeRandomRoberta } from './lib/random-checkpoint.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    texts: { type: 'string' }, // 64, or 256 with --peer (the figures)
    threads: { type: 'string', default: String(availableParallelism()) },
    'max-batch-tokens': { type: 'string', default: '0' }, // 0: the engine's CPU default
    inference: { type: 'string', default: 'worker' },
    rounds: { type: 'string', default: '2' },
    dir: { type: 'string', default: join(homedir(), '.cache', 'biovec', 'bench', 'roberta-base-random') },
    // --peer: PyTorch fp32 and dynamic qint8 (scripts/python/bench_peers.py) against biovec fp32
    // and int8, all on the same SciFact abstracts, in alternating rounds.
    peer: { type: 'boolean', default: false },
    python: { type: 'string', default: 'python3' },
  },
});
values.texts ??= values.peer ? '256' : '64';
const threads = Number(values.threads);
const maxBatchTokens = Number(values['max-batch-tokens']) || defaultMaxBatchTokens('cpu');
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };
const exists = (p: string) => access(p).then(() => true, () => false);

const dir = values.dir!;
await mkdir(dir, { recursive: true });
if (!(await exists(join(dir, 'model.safetensors')))) {
  log(`writing a random RoBERTa-base checkpoint to ${dir} (~500 MB, once)`);
  await writeRandomRoberta(dir, ROBERTA_BASE);
}
const tokSource = HAS_SHARED ? join(SHARED_DIR, 'models', 'biomed_roberta_base-tokenizer') : fixtureModel('tiny-roberta');
for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
  if (await exists(join(tokSource, f))) await copyFile(join(tokSource, f), join(dir, f));
}
const cacheDir = join(dir, '.cache');
log('converting (cached after the first run)');
const { onnxPath } = await convertCheckpoint({ modelDir: dir, cacheDir });

const { texts, source, isFallback } = await loadBenchTexts(Number(values.texts));
if (isFallback) {
  // Loud even with --json: figures on glued parity strings are not comparable with SciFact ones.
  process.stderr.write(`bench:embed: WARNING: SciFact texts not found under ${SHARED_DIR}/data/scifact; using ${source}\n`);
  if (values.peer) {
    process.stderr.write('bench:embed: --peer compares with figures measured on SciFact abstracts: refusing to run on other texts\n');
    process.exit(2);
  }
}
const tokenizer = await TextTokenizer.load(dir);
const maxTokens = 512;
const sequences = (await tokenizer.encodeBatch(texts, { addSpecialTokens: true })).map((e) =>
  e.ids.length > maxTokens ? Int32Array.from([...e.ids.subarray(0, maxTokens - 1), ...tokenizer.suffixIds]) : e.ids,
);
const totalTokens = sequences.reduce((s, q) => s + q.length, 0);

const toBatch = (rows: Int32Array[]) => {
  const seq = Math.max(...rows.map((r) => r.length));
  const inputIds = new BigInt64Array(rows.length * seq).fill(1n);
  const attentionMask = new BigInt64Array(rows.length * seq);
  rows.forEach((r, i) => r.forEach((id, t) => { inputIds[i * seq + t] = BigInt(id); attentionMask[i * seq + t] = 1n; }));
  return { inputIds, attentionMask, batch: rows.length, sequence: seq };
};

// The engine, assembled as loadEmbedder assembles it, with a runner that notes the shape of
// every batch the batcher forms, so the raw side can run exactly the same batches.
const tokenizerForEngine = await TextTokenizer.load(dir);
let engineShapes: number[][] = [];
async function measureEngine(graphPath = onnxPath): Promise<number> {
  const inner = values.inference === 'inline'
    ? await InProcessRunner.create(graphPath, { threads, executionProvider: 'cpu' })
    : await WorkerRunner.create(graphPath, { threads, executionProvider: 'cpu' });
  const shapes: number[][] = [];
  const runner: InferenceRunner = {
    run: (req) => { shapes.push(Array.from(req.lengths)); return inner.run(req); },
    close: () => inner.close(),
  };
  const embedder = new OnnxEmbedder({
    info: { modelId: dir, revision: undefined, dims: 768, pooling: 'cls', normalize: false, maxTokens, architecture: 'roberta', weights: 'safetensors', quantize: 'none', tokenizer: tokenizerForEngine.kind, prompts: { query: '', document: '' } },
    tokenizer: tokenizerForEngine, runner, padTokenId: 1, maxBatchTokens, maxBatchSize: 64, maxQueuedTokens: 10_000_000,
  });
  await embedder.embed(texts.slice(0, 2));
  shapes.length = 0;
  const t0 = performance.now();
  const out = await embedder.embed(texts, { priority: 'bulk' });
  const seconds = (performance.now() - t0) / 1000;
  await embedder.close();
  if (out.length !== texts.length) throw new Error('bug: engine returned the wrong number of vectors');
  engineShapes = shapes;
  return seconds;
}

// Raw: onnxruntime alone on the engine's batches (same rows, same padding), pre-tokenised
// and pre-padded, timing session.run only.
async function measureRaw(): Promise<number> {
  const byLength = new Map<number, Int32Array[]>();
  for (const s of sequences) byLength.set(s.length, [...(byLength.get(s.length) ?? []), s]);
  const prepared = engineShapes.map((lengths) => toBatch(lengths.map((l) => byLength.get(l)![0]!)));
  const session = await EncoderSession.create(onnxPath, { threads, executionProvider: 'cpu' });
  await session.run(toBatch(sequences.slice(0, 2)));
  const t0 = performance.now();
  // As the engine runs a CLS model: only the first token's last hidden state.
  for (const b of prepared) await session.run({ ...b, firstTokenOnly: true });
  const seconds = (performance.now() - t0) / 1000;
  await session.close();
  return seconds;
}

if (values.peer) {
  await runPeerBench();
  process.exit(0);
}

// Alternate the two so drift in machine speed (other load, memory state) hits both alike;
// each side's best round is compared.
const rounds = Number(values.rounds);
let rawSeconds = Infinity;
let engineSeconds = Infinity;
log(`${texts.length} texts, ${totalTokens} tokens, ${threads} threads, ${rounds} round(s)`);
for (let r = 0; r < rounds; r++) {
  engineSeconds = Math.min(engineSeconds, await measureEngine());
  rawSeconds = Math.min(rawSeconds, await measureRaw());
  log(`round ${r + 1}: raw ${(totalTokens / rawSeconds).toFixed(0)} tok/s, engine ${(totalTokens / engineSeconds).toFixed(0)} tok/s (best so far)`);
}

const raw = totalTokens / rawSeconds;
const engine = totalTokens / engineSeconds;
const result = {
  raw_tokens_per_s: Math.round(raw),
  engine_tokens_per_s: Math.round(engine),
  ratio: Number((engine / raw).toFixed(3)),
  texts: texts.length,
  tokens: totalTokens,
  threads,
  rounds,
  max_batch_tokens: maxBatchTokens,
  batches: engineShapes.length,
  padding_efficiency: Number((totalTokens / engineShapes.reduce((s, b) => s + b.length * Math.max(...b), 0)).toFixed(3)),
  texts_source: source,
  model: 'random roberta-base (12x768, fp32)',
};
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else console.log(result);

/**
 * biovec fp32 and int8 (the engine path: tokenizer, batcher, worker, pooling) against
 * PyTorch fp32 and qint8 on the same texts, one round of each after another; best round each.
 */
async function runPeerBench(): Promise<void> {
  const { onnxPath: int8Path } = await convertCheckpoint({ modelDir: dir, cacheDir, quantize: 'int8' });
  const peers = await startPeers({ python: values.python!, modelDir: dir, texts, threads });
  const best = { biovec_fp32: 0, biovec_int8: 0, pytorch_fp32: 0, pytorch_qint8: 0 };
  const load: number[][] = [loadavg()];
  const rounds = Number(values.rounds);
  try {
    for (let r = 0; r < rounds; r++) {
      best.pytorch_fp32 = Math.max(best.pytorch_fp32, totalTokens / (await peers.run('fp32')));
      best.biovec_fp32 = Math.max(best.biovec_fp32, totalTokens / (await measureEngine(onnxPath)));
      best.pytorch_qint8 = Math.max(best.pytorch_qint8, totalTokens / (await peers.run('qint8')));
      best.biovec_int8 = Math.max(best.biovec_int8, totalTokens / (await measureEngine(int8Path)));
      load.push(loadavg());
      log(`round ${r + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(best).map(([k, v]) => [k, Math.round(v)])))} (best so far)`);
    }
  } finally {
    await peers.close();
  }
  const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
  const result = {
    ...Object.fromEntries(Object.entries(best).map(([k, v]) => [`${k}_tokens_per_s`, Math.round(v)])),
    fp32_vs_pytorch_fp32: ratio(best.biovec_fp32, best.pytorch_fp32),
    int8_vs_pytorch_fp32: ratio(best.biovec_int8, best.pytorch_fp32),
    int8_vs_pytorch_qint8: ratio(best.biovec_int8, best.pytorch_qint8),
    int8_vs_biovec_fp32: ratio(best.biovec_int8, best.biovec_fp32),
    texts: texts.length, tokens: totalTokens, texts_source: source, threads, rounds, max_batch_tokens: maxBatchTokens,
    model: 'random roberta-base (12x768)', pytorch: peers.version,
    cpu_flags: cpuFlags(),
    loadavg_1m_per_round: load.map((l) => Number(l[0]!.toFixed(2))),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else console.log(result);
}
