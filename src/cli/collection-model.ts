import { collectionConfigFor } from '../app-deps.js';
import { differingBindings, type CollectionRecord } from '../catalog/collections.js';
import type { Config } from '../config.js';
import { bindingModelConfig } from '../embedding/embedder-registry.js';
import type { OnnxEmbedder } from '../embedding/onnx-embedder.js';
import { InvalidInputError } from '../lib/errors.js';
import type { Distance } from '../vectors/vector-index.js';
import { loadEmbedderForCli } from './load-for-cli.js';

/** The settings that load the model configuration `collection` was embedded with. */
export function collectionModelConfig(config: Config, collection: CollectionRecord): Config {
  return bindingModelConfig(config, collection);
}

/**
 * Runs `work` with the model whose vectors `collection` holds: the one it records unless the
 * caller named one (--model / BIOVEC_MODEL), which must then match. A query embedded by
 * another model would fail on dimensions, or worse, return neighbours that mean nothing.
 */
export async function withCollectionModel<T>(opts: { config: Config; collection: CollectionRecord; isModelGiven: boolean }, work: (embedder: OnnxEmbedder) => Promise<T>): Promise<T> {
  const { collection } = opts;
  const embedder = await loadEmbedderForCli(opts.isModelGiven ? opts.config : collectionModelConfig(opts.config, collection));
  try {
    const loaded = collectionConfigFor(embedder)(collection.name, { distance: collection.distance as Distance, chunkOverlap: 0 });
    const differing = differingBindings(loaded, collection);
    if (differing.length > 0) {
      const revision = collection.modelRevision ? ` --model-revision ${collection.modelRevision}` : '';
      const quantize = collection.quantize === 'int8' ? ' --quantize int8' : '';
      throw new InvalidInputError(`collection ${collection.name} holds vectors of ${collection.modelId} (${collection.dims}-d, ${collection.pooling} pooling); the loaded model differs in ${differing.join(', ')}: search it with --model ${collection.modelId}${revision}${quantize}, or leave --model out to use the collection's model`);
    }
    return await work(embedder);
  } finally {
    await embedder.close();
  }
}
