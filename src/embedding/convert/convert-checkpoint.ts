import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEncoderConfig, readModelConfig } from '../model/model-config.js';
import { buildEncoderGraph, ENCODER_OPSET, weightsAnchor } from './encoder-graph.js';
import { EncoderWeights } from './encoder-weights.js';
import { OnnxGraphBuilder } from './onnx-graph-builder.js';
import { openModelWeights } from './open-weights.js';
import { requireCheckpoint } from './weights-source.js';

/** Bump when the emitted graph changes: it is part of the cache key, so old graphs are rebuilt. */
export const CONVERTER_VERSION = 3; // 2: com.microsoft MultiHeadAttention; 3: output_positions (CLS-only last layer)

/**
 * Linears left in fp32 by --quantize int8: none. Until int8 scheme 2 the FFN down-projections
 * of layers 0-1 stayed fp32 for MiniLM's sake; scaling those projections' activations per
 * token (matMulAdd's `perToken`) does better with every linear int8 (issue 14 figures there).
 */
export const INT8_KEEP_FP32: readonly string[] = [];

/**
 * Part of an int8 graph's cache key: bump when the int8 graph changes but the fp32 one does
 * not, so fp32 graphs already converted stay valid. 2: per-token scales for FFN down-projections.
 */
const INT8_SCHEME = 2;

export interface ConvertOptions {
  modelDir: string;
  /** Converted graphs go to `<cacheDir>/onnx/<key>/`. */
  cacheDir: string;
  /** int8: quantized weight MatMuls; a separate cache entry from the fp32 graph. */
  quantize?: 'none' | 'int8';
  /** Overrides which linears stay fp32 under int8 (measurement scripts); part of the cache key. */
  keepFp32?: readonly string[];
  onProgress?: (message: string) => void;
}

export interface ConvertResult {
  onnxPath: string;
  cacheKey: string;
  /** False when the graph came from the cache. */
  converted: boolean;
}

const exists = (path: string) => access(path).then(() => true, () => false);

/**
 * Converts an encoder checkpoint of a SUPPORTED_MODEL_TYPES architecture (model.safetensors or pytorch_model.bin, single or
 * sharded) into an ONNX graph, cached by the weights' hash, config.json and
 * CONVERTER_VERSION. Throws ModelError for a missing, corrupt, refused or unsupported checkpoint.
 */
export async function convertCheckpoint(opts: ConvertOptions): Promise<ConvertResult> {
  await requireCheckpoint(opts.modelDir);
  const rawConfig = await readModelConfig(opts.modelDir);
  const config = parseEncoderConfig(rawConfig);
  const { source: file, path: weightsPath, weightsHash } = await openModelWeights(opts.modelDir, (path) => hashFileCached(path, opts.cacheDir));
  const quantize = opts.quantize ?? 'none';
  const keepFp32 = opts.keepFp32 ?? INT8_KEEP_FP32;
  // fp32 keeps its old key (no suffix), so graphs already converted stay valid.
  const cacheKey = createHash('sha256')
    .update(`v${CONVERTER_VERSION}\n${weightsHash}\n${JSON.stringify(config)}${quantize === 'none' ? '' : `\nquantize=${quantize}\nscheme=${INT8_SCHEME}\n${JSON.stringify(keepFp32)}`}`)
    .digest('hex')
    .slice(0, 32);
  const outDir = join(opts.cacheDir, 'onnx', cacheKey);
  const onnxPath = join(outDir, 'model.onnx');
  if (await exists(onnxPath)) {
    await file.close();
    return { onnxPath, cacheKey, converted: false };
  }

  opts.onProgress?.(`converting ${weightsPath} to ONNX (${config.modelType}, ${config.numLayers} layers${quantize === 'int8' ? ', int8 weights' : ''})`);
  // Build in a private directory and rename: a crash mid-way never leaves a half graph
  // where a later start would trust it.
  const tmpDir = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(tmpDir, { recursive: true });
    const builder = new OnnxGraphBuilder(join(tmpDir, 'model.onnx.data'));
    const weights = EncoderWeights.locate(file, { anchor: weightsAnchor(config.architecture), architecture: config.modelType });
    await buildEncoderGraph(builder, weights, config, { quantize, keepFp32 });
    const proto = builder.finish({
      producer: `biovec-converter-v${CONVERTER_VERSION}`,
      opset: ENCODER_OPSET,
      docString: `converted from ${weightsPath} (sha256 ${weightsHash})${quantize === 'int8' ? ', int8 weights' : ''}`,
    });
    await writeFile(join(tmpDir, 'model.onnx'), proto);
    await rm(outDir, { recursive: true, force: true });
    await rename(tmpDir, outDir);
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  } finally {
    await file.close();
  }
  return { onnxPath, cacheKey, converted: true };
}

/**
 * sha256 of a file, remembered by (path, size, mtime) so a 500 MB checkpoint is hashed once,
 * not at every start.
 */
export async function hashFileCached(path: string, cacheDir: string): Promise<string> {
  const info = await stat(path);
  const memoPath = join(cacheDir, 'file-hashes.json');
  let memo: Record<string, string> = {};
  try {
    memo = JSON.parse(await readFile(memoPath, 'utf8')) as Record<string, string>;
  } catch {
    memo = {};
  }
  const memoKey = `${path}|${info.size}|${info.mtimeMs}`;
  const known = memo[memoKey];
  if (known) return known;
  const digest = await sha256File(path);
  memo[memoKey] = digest;
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${memoPath}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(memo));
  await rename(tmp, memoPath);
  return digest;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
