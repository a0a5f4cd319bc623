import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../../lib/errors.js';
import { parseEncoderConfig, readModelConfig } from '../model/model-config.js';
import { buildEncoderGraph, ENCODER_OPSET } from './encoder-graph.js';
import { EncoderWeights } from './encoder-weights.js';
import { OnnxGraphBuilder } from './onnx-graph-builder.js';
import { SafetensorsFile } from './safetensors.js';

/** Bump when the emitted graph changes: it is part of the cache key, so old graphs are rebuilt. */
export const CONVERTER_VERSION = 1;

export interface ConvertOptions {
  modelDir: string;
  /** Converted graphs go to `<cacheDir>/onnx/<key>/`. */
  cacheDir: string;
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
 * Converts a BERT/RoBERTa `model.safetensors` into an ONNX graph, cached by the weights'
 * hash, config.json and CONVERTER_VERSION. Throws ModelError for a missing, corrupt or
 * unsupported checkpoint.
 */
export async function convertCheckpoint(opts: ConvertOptions): Promise<ConvertResult> {
  const weightsPath = join(opts.modelDir, 'model.safetensors');
  if (!(await exists(weightsPath))) {
    if (await exists(join(opts.modelDir, 'model.safetensors.index.json'))) {
      throw new ModelError(`${opts.modelDir} holds a sharded checkpoint; sharded safetensors are not supported yet`);
    }
    throw new ModelError(`${opts.modelDir} has no model.safetensors (nor a model.onnx)`);
  }
  const rawConfig = await readModelConfig(opts.modelDir);
  const config = parseEncoderConfig(rawConfig);
  const weightsHash = await hashFileCached(weightsPath, opts.cacheDir);
  const cacheKey = createHash('sha256')
    .update(`v${CONVERTER_VERSION}\n${weightsHash}\n${JSON.stringify(config)}`)
    .digest('hex')
    .slice(0, 32);
  const outDir = join(opts.cacheDir, 'onnx', cacheKey);
  const onnxPath = join(outDir, 'model.onnx');
  if (await exists(onnxPath)) return { onnxPath, cacheKey, converted: false };

  opts.onProgress?.(`converting ${weightsPath} to ONNX (${config.modelType}, ${config.numLayers} layers)`);
  // Build in a private directory and rename: a crash mid-way never leaves a half graph
  // where a later start would trust it.
  const tmpDir = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmpDir, { recursive: true });
  const file = await SafetensorsFile.open(weightsPath);
  try {
    const builder = new OnnxGraphBuilder(join(tmpDir, 'model.onnx.data'));
    await buildEncoderGraph(builder, EncoderWeights.locate(file), config);
    const proto = builder.finish({
      producer: `biovec-converter-v${CONVERTER_VERSION}`,
      opset: ENCODER_OPSET,
      docString: `converted from ${weightsPath} (sha256 ${weightsHash})`,
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
