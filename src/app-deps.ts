import type { AuthPolicy } from './auth/auth-middleware.js';
import type { CollectionConfig } from './catalog/collections.js';
import type { Database } from './db/client.js';
import type { Embedder } from './embedding/embedder.js';
import type { ModelResolver } from './embedding/embedder-registry.js';
import type { EmbedderSource, ModelBinding } from './jobs/job-kind.js';
import { InvalidInputError } from './lib/errors.js';
import type { Logger } from './lib/logger.js';
import type { JobRunner } from './jobs/job-runner.js';
import type { Metrics } from './metrics/metrics.js';
import type { UploadStorage } from './storage/upload-storage.js';
import type { OutboxWorker } from './outbox/outbox-worker.js';
import type { Distance, VectorIndex } from './vectors/vector-index.js';

/** What the HTTP app is built from; main.ts (or a test) assembles it. */
export interface AppDeps {
  db: Database;
  index: VectorIndex;
  embedder: Embedder;
  /**
   * Embedders by binding: a collection's reads and writes embed with the model of its current
   * version (the served one, or another after a version switch), see embedderFor.
   */
  embedders: ModelResolver;
  worker: OutboxWorker;
  logger: Logger;
  limits: { maxBodyBytes: number; maxDocumentsPerRequest: number; maxUploadBytes: number };
  /** Who may call: open without keys only on a loopback bind (see AuthPolicy). */
  auth: AuthPolicy;
  /** Background jobs (imports, re-indexes): the runner claims them; uploads live in storage every process reaches. */
  imports: { runner: JobRunner; storage: UploadStorage };
  /** The model configuration a new collection binds (the served model's). */
  collectionConfig(name: string, opts: { distance: Distance; chunkOverlap: number }): CollectionConfig;
  metrics: Metrics;
  /** Static facts for /info. */
  info: Record<string, unknown>;
  /** The name the OpenAI-compatible routes give the served model; omitted: see servedModelName(). */
  servedModelName?: string;
  /** Origins allowed to call from a browser (`*` or comma-separated); empty or omitted: no CORS. */
  corsAllowOrigin?: string;
}

/** The served model's public name: the configured one, else the hub id, else a local directory's name. */
export function servedModelName(deps: Pick<AppDeps, 'embedder' | 'servedModelName'>): string {
  if (deps.servedModelName) return deps.servedModelName;
  const { modelId, revision } = deps.embedder.info;
  // A local directory has no revision; its path would leak the server's file layout.
  return revision === undefined ? (modelId.replace(/[\\/]+$/, '').split(/[\\/]/).at(-1) || 'model') : modelId;
}

/** The embedder of a collection's current version (its record carries that version's binding). Throws ConflictError. */
export function embedderFor(deps: { embedders: EmbedderSource }, collection: ModelBinding): Promise<Embedder> {
  return deps.embedders.forBinding(collection);
}

/** The served embedder's configuration as a collection binding. */
export function collectionConfigFor(embedder: Embedder): AppDeps['collectionConfig'] {
  return (name, opts) => {
    const room = Math.floor((embedder.info.maxTokens - 2) / 2);
    if (opts.chunkOverlap > room) {
      throw new InvalidInputError(`chunk_overlap ${opts.chunkOverlap} is too large for ${embedder.info.maxTokens}-token chunks (at most ${room})`, [{ pointer: '/chunk_overlap', detail: `at most ${room}` }]);
    }
    return {
    name,
    modelId: embedder.info.modelId,
    modelRevision: embedder.info.revision ?? null,
    pooling: embedder.info.pooling,
    normalize: embedder.info.normalize,
    maxTokens: embedder.info.maxTokens,
    dims: embedder.info.dims,
    distance: opts.distance,
    queryPrefix: embedder.info.prompts.query,
    documentPrefix: embedder.info.prompts.document,
    chunkOverlap: opts.chunkOverlap,
    quantize: embedder.info.quantize,
    };
  };
}

/** Overlap for a new collection when none is asked: 32 tokens, less for short-window models. */
export function defaultChunkOverlap(embedder: Embedder): number {
  return Math.min(32, Math.floor(embedder.info.maxTokens / 8));
}
