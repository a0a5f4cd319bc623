import type { OnnxEmbedder } from '../embedding/onnx-embedder.js';

/** The facts `biovec model info` and `model pull` print, as stable snake_case JSON. */
export function describeModel(embedder: OnnxEmbedder): Record<string, unknown> {
  const { info } = embedder;
  return {
    model: info.modelId,
    revision: info.revision ?? null,
    architecture: info.architecture,
    // config.json's transformers classes and the checkpoint file: what a user checks first
    // when a model loads differently than expected.
    architectures: info.checkpoint?.architectures ?? [],
    checkpoint: info.checkpoint?.file ?? null,
    dims: info.dims,
    pooling: info.pooling,
    normalize: info.normalize,
    max_tokens: info.maxTokens,
    weights: info.weights,
    tokenizer: info.tokenizer,
    prompts: info.prompts,
  };
}
