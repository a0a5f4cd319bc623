import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModel } from '../../../test/helpers/fixtures.js';
import { loadConfig } from '../../config.js';
import { ModelError } from '../../lib/errors.js';
import { loadEmbedder } from '../load-embedder.js';
import { convertCheckpoint, INT8_KEEP_FP32 } from './convert-checkpoint.js';
import { ENCODER_OPSET } from './encoder-graph.js';
import { matMulAdd } from './graph-ops.js';
import { OnnxGraphBuilder } from './onnx-graph-builder.js';
import { quantizePerColumn } from './quantize-weights.js';

const { onnx } = onnxProto;

// The tiny fixtures have random weights (no outlier channels), so int8 error is rounding only:
// per-column weights are off by ≤ scale/2 and activations by half a u8 step, errors that
// average out over each dot product and are renormalised by LayerNorm. Measured: min cosine
// 0.99999997 (both fixtures, these texts, every linear int8 or the default set). 0.9999 leaves
// two orders of magnitude for onnxruntime builds with other kernels, and still fails a wrong
// scale, layout or zero point (those give < 0.99).
const MIN_COSINE = 0.9999;

const cosine = (a: Float32Array, b: Float32Array) => {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i]! * b[i]!; na += a[i]! * a[i]!; nb += b[i]! * b[i]!; }
  return dot / Math.sqrt(na * nb);
};

const TEXTS = ['BRCA1 mutations raise the risk of breast cancer.', 'Aspirin inhibits cyclooxygenase and platelet aggregation.', 'short', 'The p53 protein regulates the cell cycle and apoptosis in response to DNA damage.'];

describe('quantizePerColumn', () => {
  it('keeps every weight within half a step of its column scale, and maps an all-zero column to zeros', () => {
    // [3 rows, 2 cols]: column 0 spans ±2, column 1 is zero.
    const w = Float32Array.from([2, 0, -1.3, 0, 0.01, 0]);
    const q = quantizePerColumn(w, 3, 2);
    expect(q.scales[0]).toBeCloseTo(2 / 127, 7);
    expect(q.scales[1]).toBe(1);
    for (let r = 0; r < 3; r++) {
      expect(Math.abs(q.values[r * 2]! * q.scales[0]! - w[r * 2]!)).toBeLessThanOrEqual(q.scales[0]! / 2 + 1e-7);
      expect(q.values[r * 2 + 1]).toBe(0);
    }
    expect(q.values[0]).toBe(127);
  });
});

describe('int8 linears with per-token activation scales', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'biovec-pertoken-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  // One linear x·W + b as its own graph, so its output can be compared with the exact product.
  async function runLinear(perToken: boolean, x: Float32Array, rows: number, weight: Float32Array, bias: Float32Array, k: number, n: number): Promise<Float32Array> {
    const path = join(dir, `linear-${perToken}.onnx`);
    const g = new OnnxGraphBuilder(`${path}.data`);
    const input = g.input({ name: 'x', elemType: 'float', dims: [1, 'rows', k] });
    g.alias(matMulAdd({ g, opts: { quantize: 'int8' } }, { x: input, name: 'lin', weight, bias, inDim: k, outDim: n, perToken }), 'y');
    g.output({ name: 'y', elemType: 'float', dims: [1, 'rows', n] });
    await writeFile(path, g.finish({ producer: 'test', opset: ENCODER_OPSET }));
    const session = await ort.InferenceSession.create(path);
    try {
      const out = await session.run({ x: new ort.Tensor('float32', x, [1, rows, k]) });
      return out.y!.data as Float32Array;
    } finally {
      await session.release();
    }
  }

  it('quantizes a small token as finely as a large one beside it (one scale per batch does not)', async () => {
    const [k, n] = [64, 8];
    const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const rand = seeded(7);
    const weight = Float32Array.from({ length: k * n }, rand);
    const bias = Float32Array.from({ length: n }, rand);
    // Token 0 is 500× token 1: a GELU output beside an outlier token.
    const x = Float32Array.from({ length: 2 * k }, (_, i) => rand() * (i < k ? 500 : 1));
    const exact = Array.from({ length: 2 * n }, (_, o) => {
      const [row, col] = [Math.floor(o / n), o % n];
      let sum = bias[col]!;
      for (let i = 0; i < k; i++) sum += x[row * k + i]! * weight[i * n + col]!;
      return sum;
    });
    // Relative error of token r's output (without the bias, which is exact either way).
    const error = (y: Float32Array, r: number) => {
      let diff = 0, norm = 0;
      for (let c = 0; c < n; c++) {
        diff += (y[r * n + c]! - exact[r * n + c]!) ** 2;
        norm += (exact[r * n + c]! - bias[c]!) ** 2;
      }
      return Math.sqrt(diff / norm);
    };
    const perToken = await runLinear(true, x, 2, weight, bias, k, n);
    const perTensor = await runLinear(false, x, 2, weight, bias, k, n);
    // Measured: per token 0.012 and 0.005; per tensor 0.010 for token 0 but 1.0 for token 1,
    // every one of whose activations rounds to the zero point (a step is 1000/255).
    expect(error(perToken, 0)).toBeLessThan(0.03);
    expect(error(perToken, 1)).toBeLessThan(0.03);
    expect(error(perTensor, 1)).toBeGreaterThan(0.3);
  });
});

describe('--quantize int8 through the converter', () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'biovec-int8-'));
  });
  afterAll(async () => rm(cacheDir, { recursive: true, force: true }));

  for (const name of ['tiny-roberta', 'tiny-bert']) {
    it(`${name}: the int8 graph runs, stays within cosine ${MIN_COSINE} of fp32 and says int8 in its info`, async () => {
      const load = (quantize: 'none' | 'int8') => loadEmbedder(loadConfig({}, { model: fixtureModel(name), cacheDir, threads: 1, inference: 'inline', quantize }));
      const [fp32, int8] = [await load('none'), await load('int8')];
      try {
        expect(int8.info.quantize).toBe('int8');
        expect(fp32.info.quantize).toBe('none');
        const a = await fp32.embed(TEXTS);
        const b = await int8.embed(TEXTS);
        a.forEach((e, i) => expect(cosine(e.vector, b[i]!.vector)).toBeGreaterThan(MIN_COSINE));
        // Not the fp32 graph under another name: the vectors do differ.
        expect(a.some((e, i) => e.vector.some((v, j) => v !== b[i]!.vector[j]))).toBe(true);
      } finally {
        await fp32.close();
        await int8.close();
      }
    });
  }

  it('emits integer kernels for every weight MatMul (int8 weights, per-column scales) and is cached apart from fp32', async () => {
    const modelDir = fixtureModel('tiny-bert');
    const fp32 = await convertCheckpoint({ modelDir, cacheDir });
    const int8 = await convertCheckpoint({ modelDir, cacheDir, quantize: 'int8' });
    expect(int8.cacheKey).not.toBe(fp32.cacheKey);
    expect(int8.onnxPath).not.toBe(fp32.onnxPath);
    expect(await convertCheckpoint({ modelDir, cacheDir, quantize: 'int8' })).toMatchObject({ converted: false, onnxPath: int8.onnxPath });
    expect(await convertCheckpoint({ modelDir, cacheDir })).toMatchObject({ converted: false, onnxPath: fp32.onnxPath });

    const model = onnx.ModelProto.decode(await readFile(int8.onnxPath));
    const graph = model.graph!;
    const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
    const integer = graph.node!.filter((n) => n.opType === 'DynamicQuantizeMatMul');
    const layers = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')).num_hidden_layers as number;
    // Fused QKV, attention output, FFN in and FFN out per layer, less the FFN outs kept fp32;
    // the last layer has Q (at the output positions) apart from the fused K and V.
    const downProjections = Array.from({ length: layers }, (_, l) => `encoder.layer.${l}.output.dense`);
    const keptFp32 = downProjections.filter((name) => INT8_KEEP_FP32.some((p) => new RegExp(p).test(name)));
    expect(integer).toHaveLength(layers * 4 + 1 - keptFp32.length);
    for (const n of integer) {
      expect(n.domain).toBe('com.microsoft');
      const [, weight, scale] = n.input!;
      expect(inits.get(weight!)!.dataType).toBe(onnx.TensorProto.DataType.INT8);
      const weightDims = inits.get(weight!)!.dims!.map(Number);
      expect(inits.get(scale!)!.dims!.map(Number)).toEqual([weightDims[1]]); // one scale per output column
    }
    // The FFN down-projections (and only they) quantize each token's activations on its own scale:
    // their input is x divided by its row's max |x|.
    const producer = new Map(graph.node!.flatMap((n) => n.output!.map((o) => [o, n] as const)));
    const perToken = integer.filter((n) => producer.get(n.input![0]!)!.opType === 'Div').map((n) => n.input![1]);
    expect(perToken.sort()).toEqual(downProjections.filter((name) => !keptFp32.includes(name)).map((name) => `${name}.weight_t_int8`).sort());
    // Left in fp32 MatMul: attention (scores and context, no weights) and the kept linears.
    const floatWeights = graph.node!.filter((n) => n.opType === 'MatMul').flatMap((n) => n.input!.filter((i) => inits.has(i)));
    expect(floatWeights.sort()).toEqual(keptFp32.map((name) => `${name}.weight_t`).sort());
    expect(model.opsetImport!.map((o) => o.domain)).toContain('com.microsoft');
  });

  it('refuses int8 for a model that ships only an ONNX graph, naming the way out', async () => {
    const err = await loadEmbedder(loadConfig({}, { model: fixtureModel('tiny-bert-onnx'), cacheDir, threads: 1, quantize: 'int8' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).detail).toMatch(/--quantize int8 needs model\.safetensors .*use --quantize none/);
  });
});
