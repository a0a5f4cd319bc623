import { access } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Config } from '../config.js';
import { ModelError } from '../lib/errors.js';
import { convertCheckpoint } from './convert/convert-checkpoint.js';
import { findCheckpoint } from './convert/weights-source.js';
import type { EmbedderInfo } from './embedder.js';
import type { DownloadProgress } from './model/hub-client.js';
import { architecturesOf, parseEncoderConfig, readModelConfig, tokenLimits } from './model/model-config.js';
import { readModelDefaults } from './model/model-defaults.js';
import { parseModelSpec, resolveModel } from './model/resolve-model.js';
import { OnnxEmbedder } from './onnx-embedder.js';
import { InProcessRunner, WorkerRunner } from './runtime/inference-runner.js';
import { TextTokenizer } from './tokenizer/text-tokenizer.js';

export type EmbedderConfig = Pick<
  Config,
  | 'model' | 'modelRevision' | 'pooling' | 'normalize' | 'maxLength' | 'queryPrefix' | 'documentPrefix' | 'weights' | 'quantize' | 'device' | 'threads' | 'inference'
  | 'maxBatchTokens' | 'maxBatchSize' | 'maxQueuedTokens' | 'cacheDir' | 'hfEndpoint' | 'hfToken' | 'hfHubOffline'
  | 'hfHubCache' | 'hubTimeoutMs'
>;

export interface LoadHooks {
  onDownload?: (p: DownloadProgress) => void;
  onInfo?: (message: string) => void;
  /** Measurement scripts only: other linears to keep fp32 under int8 (see INT8_KEEP_FP32). */
  keepFp32?: readonly string[];
}

const exists = (path: string) => access(path).then(() => true, () => false);

/** Resolves, converts (or finds the ONNX of) and loads a model. Throws ModelError with advice. */
export async function loadEmbedder(cfg: EmbedderConfig, hooks: LoadHooks = {}): Promise<OnnxEmbedder> {
  const resolved = await resolveModel(await parseModelSpec(cfg.model, cfg.modelRevision === 'main' ? undefined : cfg.modelRevision), {
    endpoint: cfg.hfEndpoint,
    token: cfg.hfToken,
    offline: cfg.hfHubOffline,
    cacheDir: cfg.hfHubCache,
    timeoutMs: cfg.hubTimeoutMs,
    onProgress: hooks.onDownload,
    onWarning: hooks.onInfo,
  });
  const dir = resolved.dir;
  const rawConfig = await readModelConfig(dir);
  const tokenizer = await TextTokenizer.load(dir);
  const weights = await pickWeights(dir, cfg.weights);

  let onnxPath: string;
  let architecture = String(rawConfig.model_type ?? 'unknown');
  // The converted graph's width; DistilBERT's config calls hidden_size `dim`.
  let convertedDims = 0;
  const quantize = cfg.quantize === 'int8' ? 'int8' : 'none';
  if (weights.kind === 'safetensors') {
    const parsed = parseEncoderConfig(rawConfig); // refuses unsupported architectures first
    architecture = parsed.modelType;
    convertedDims = parsed.hiddenSize;
    ({ onnxPath } = await convertCheckpoint({ modelDir: dir, cacheDir: cfg.cacheDir, quantize, keepFp32: hooks.keepFp32, onProgress: hooks.onInfo }));
  } else {
    if (quantize === 'int8') {
      throw new ModelError(
        `--quantize int8 needs model.safetensors (biovec quantizes while converting); ${dir} has only ${weights.path}: use --quantize none, or a directory with model.safetensors`,
      );
    }
    onnxPath = weights.path;
  }
  const defaults = await readModelDefaults(dir, resolved.modelId);
  const { maxTokens, padTokenId } = tokenLimits(rawConfig);
  let limit = maxTokens;
  if (tokenizer.configMaxLength) limit = Math.min(limit, tokenizer.configMaxLength);
  // MiniLM's position table holds 512, but it was trained and is evaluated at 256.
  if (defaults.maxSeqLength) limit = Math.min(limit, defaults.maxSeqLength);
  if (cfg.maxLength > 0) {
    if (cfg.maxLength > limit) throw new ModelError(`--max-length ${cfg.maxLength} exceeds the model's limit of ${limit} tokens`);
    if (cfg.maxLength <= tokenizer.specialTokenCount) throw new ModelError(`--max-length ${cfg.maxLength} leaves no room for text`);
    limit = cfg.maxLength;
  }

  const sessionOpts = { threads: cfg.threads, executionProvider: cfg.device };
  const runner = cfg.inference === 'worker'
    ? await WorkerRunner.create(onnxPath, sessionOpts)
    : await InProcessRunner.create(onnxPath, sessionOpts);
  const dims = convertedDims || (typeof rawConfig.hidden_size === 'number' ? rawConfig.hidden_size : 0);
  const info: EmbedderInfo = {
    modelId: resolved.modelId,
    revision: resolved.revision,
    dims,
    pooling: cfg.pooling === 'auto' ? (defaults.pooling ?? 'cls') : cfg.pooling,
    normalize: cfg.normalize === 'auto' ? (defaults.normalize ?? false) : cfg.normalize === 'true',
    maxTokens: limit,
    architecture,
    weights: weights.kind,
    checkpoint: { file: relative(dir, weights.path), architectures: architecturesOf(rawConfig) },
    quantize,
    tokenizer: tokenizer.kind,
    prompts: {
      query: chosenPrompt(cfg.queryPrefix, defaults.prompts.query),
      document: chosenPrompt(cfg.documentPrefix, defaults.prompts.document),
    },
  };
  const embedder = new OnnxEmbedder({
    info,
    tokenizer,
    runner,
    padTokenId,
    maxBatchTokens: cfg.maxBatchTokens || defaultMaxBatchTokens(cfg.device),
    maxBatchSize: cfg.maxBatchSize,
    maxQueuedTokens: cfg.maxQueuedTokens,
  });
  if (dims === 0) {
    // A config without hidden_size (some ONNX exports): learn the width from one inference.
    const [probe] = await embedder.embed(['dimension probe']);
    info.dims = probe!.vector.length;
  }
  return embedder;
}

function chosenPrompt(setting: string, modelOwn: string): string {
  if (setting === 'auto') return modelOwn;
  return setting === 'none' ? '' : setting;
}

/** `safetensors` means a checkpoint biovec converts: safetensors or pytorch_model.bin, single or sharded. */
async function pickWeights(dir: string, prefer: EmbedderConfig['weights']): Promise<{ kind: 'safetensors' | 'onnx'; path: string }> {
  const onnxCandidates = [join(dir, 'onnx', 'model.onnx'), join(dir, 'model.onnx')];
  const checkpoint = await findCheckpoint(dir);
  let onnx: string | undefined;
  for (const candidate of onnxCandidates) if (!onnx && (await exists(candidate))) onnx = candidate;
  // A shipped ONNX export beats converting a pickle: .bin is only the last resort of auto.
  const isBin = checkpoint?.file.startsWith('pytorch_model') ?? false;
  if (prefer === 'auto' && isBin && onnx) return { kind: 'onnx', path: onnx };
  if (prefer !== 'onnx' && checkpoint) return { kind: 'safetensors', path: checkpoint.path };
  if (prefer !== 'safetensors' && onnx) return { kind: 'onnx', path: onnx };
  const wanted = prefer === 'auto' ? 'model.safetensors, pytorch_model.bin (or their sharded index) or onnx/model.onnx' : prefer === 'onnx' ? 'onnx/model.onnx or model.onnx' : 'model.safetensors, pytorch_model.bin or their sharded index';
  throw new ModelError(`${dir} has no ${wanted}`);
}

/**
 * Padded tokens per batch when not set. On CPU, past ~512 the activations outgrow the cores'
 * caches and each token costs more (2 threads, bare session, SciFact batches sorted by length:
 * RoBERTa-base 512 → 1,574 tokens/s, 1024 → 1,499, 2048 → 1,435, 16384 → 1,090; bge-small 512
 * → 4,865, 1024 → 4,729, 4096 → 3,471); a GPU wants large batches.
 */
export function defaultMaxBatchTokens(device: 'cpu' | 'cuda'): number {
  return device === 'cuda' ? 16384 : 512;
}
