import type { Config } from '../config.js';
import type { EmbedderSource, ModelBinding } from '../jobs/job-kind.js';
import { AppError, ConflictError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Embedder, EmbedderInfo } from './embedder.js';
import { loadEmbedder } from './load-embedder.js';

/** The settings that load a model of `binding` (what a collection version was embedded with). */
export function bindingModelConfig(config: Config, binding: ModelBinding): Config {
  return {
    ...config,
    model: binding.modelId,
    modelRevision: binding.modelRevision ?? 'main',
    pooling: binding.pooling as Config['pooling'],
    normalize: binding.normalize ? 'true' : 'false',
    maxLength: binding.maxTokens,
    queryPrefix: binding.queryPrefix || 'none',
    documentPrefix: binding.documentPrefix || 'none',
    quantize: binding.quantize === 'int8' ? 'int8' : 'none',
  };
}

/** A loaded embedder's configuration as a binding (what a new version made with it records). */
export function bindingOf(info: EmbedderInfo): ModelBinding {
  return {
    modelId: info.modelId,
    modelRevision: info.revision ?? null,
    pooling: info.pooling,
    normalize: info.normalize,
    maxTokens: info.maxTokens,
    dims: info.dims,
    queryPrefix: info.prompts.query,
    documentPrefix: info.prompts.document,
    quantize: info.quantize,
  };
}

const BINDING_FIELDS = ['modelId', 'modelRevision', 'pooling', 'normalize', 'maxTokens', 'dims', 'queryPrefix', 'documentPrefix', 'quantize'] as const;

/** The fields in which two bindings differ (none: their vectors are comparable). */
export function bindingDifferences(a: ModelBinding, b: ModelBinding): string[] {
  // A binding that names no precision is fp32: collections made before --quantize existed.
  const value = (x: ModelBinding, f: (typeof BINDING_FIELDS)[number]) => (f === 'quantize' ? (x.quantize || 'none') : x[f]);
  return BINDING_FIELDS.filter((f) => value(a, f) !== value(b, f));
}

const keyOf = (b: ModelBinding) => JSON.stringify(BINDING_FIELDS.map((f) => (f === 'quantize' ? (b.quantize || 'none') : b[f])));

/** A model configuration as a user asks for one (a new collection version); unset fields: the served model's, or the model's own defaults when `model` is named. */
export interface ModelSettings {
  model?: string;
  revision?: string;
  pooling?: Config['pooling'];
  normalize?: boolean;
  /** Tokens per chunk, special tokens included (0: the model's limit). */
  maxLength?: number;
  quantize?: 'none' | 'int8';
  /** '' for none. */
  queryPrefix?: string;
  documentPrefix?: string;
}

/** EmbedderSource that can also load a model from settings (where this process may load models). */
export interface ModelResolver extends EmbedderSource {
  /** Throws ConflictError (409) naming why when the model cannot be loaded here. */
  resolve(settings: ModelSettings): Promise<Embedder>;
}

export interface EmbedderRegistryOptions {
  /** The model this process serves (answers its own binding without loading anything). */
  served: Embedder;
  /** Settings other models are loaded with (threads, device, cache, hub) besides their binding. */
  config: Config;
  logger?: Logger;
  /** Models kept loaded besides the served one; the least recently used is closed past this. */
  maxExtra?: number;
  /** Loads a model (tests pass their own; default loadEmbedder). */
  load?: (config: Config) => Promise<Embedder>;
}

interface Entry {
  embedder: Promise<Embedder>;
  usedAt: number;
}

/**
 * Embedders by collection binding: the served model for its own binding, any other loaded on
 * demand and cached. A collection that switched versions, or a re-index's target, embeds with
 * the model its vectors were made with, never with whatever the process happens to serve.
 */
export class EmbedderRegistry implements ModelResolver {
  private readonly served: Embedder;
  private readonly servedKey: string;
  private readonly extra = new Map<string, Entry>();
  private readonly maxExtra: number;
  private readonly load: (config: Config) => Promise<Embedder>;
  private tick = 0;
  private isClosed = false;

  constructor(private readonly opts: EmbedderRegistryOptions) {
    this.served = opts.served;
    this.servedKey = keyOf(bindingOf(opts.served.info));
    this.maxExtra = Math.max(1, opts.maxExtra ?? 2);
    this.load = opts.load ?? ((cfg) => loadEmbedder(cfg));
  }

  /** The served embedder's binding. */
  servedBinding(): ModelBinding {
    return bindingOf(this.served.info);
  }

  /** Throws ConflictError when this process cannot load a model of that binding, naming why. */
  async forBinding(binding: ModelBinding): Promise<Embedder> {
    const key = keyOf(binding);
    if (key === this.servedKey) return this.served;
    if (this.isClosed) throw new ConflictError('the model registry is closed (the process is stopping)');
    const hit = this.extra.get(key);
    if (hit) {
      hit.usedAt = ++this.tick;
      return hit.embedder;
    }
    const entry: Entry = { embedder: this.loadChecked(binding), usedAt: ++this.tick };
    this.extra.set(key, entry);
    // A failed load is not cached: the next call tries again (a model downloaded meanwhile).
    entry.embedder.catch(() => {
      if (this.extra.get(key) === entry) this.extra.delete(key);
    });
    this.evict();
    return entry.embedder;
  }

  /**
   * The model `settings` describe, loaded (and cached under its binding like forBinding's), or
   * the served one when they describe it. Throws ConflictError naming why it cannot be loaded.
   */
  async resolve(settings: ModelSettings): Promise<Embedder> {
    const given = Object.values(settings).some((v) => v !== undefined);
    if (!given) return this.served;
    if (this.isClosed) throw new ConflictError('the model registry is closed (the process is stopping)');
    const prompt = (p: string | undefined) => (p === undefined ? undefined : p === '' ? 'none' : p);
    const base: Config = settings.model
      ? { ...this.opts.config, model: settings.model, modelRevision: 'main', pooling: 'auto', normalize: 'auto', maxLength: 0, queryPrefix: 'auto', documentPrefix: 'auto', quantize: 'none' }
      : bindingModelConfig(this.opts.config, bindingOf(this.served.info));
    const cfg: Config = {
      ...base,
      ...(settings.revision !== undefined ? { modelRevision: settings.revision } : {}),
      ...(settings.pooling !== undefined ? { pooling: settings.pooling } : {}),
      ...(settings.normalize !== undefined ? { normalize: settings.normalize ? 'true' : 'false' } : {}),
      // No model named: the served model's window unless asked; a named one starts from its own limit.
      ...(settings.maxLength !== undefined ? { maxLength: settings.maxLength } : {}),
      ...(settings.quantize !== undefined ? { quantize: settings.quantize } : {}),
      ...(prompt(settings.queryPrefix) !== undefined ? { queryPrefix: prompt(settings.queryPrefix)! } : {}),
      ...(prompt(settings.documentPrefix) !== undefined ? { documentPrefix: prompt(settings.documentPrefix)! } : {}),
    };
    let loaded: Embedder;
    try {
      loaded = await this.load(cfg);
    } catch (err) {
      const why = err instanceof AppError ? err.detail : 'it failed to load (see the server log)';
      this.opts.logger?.warn({ err, model: cfg.model }, 'could not load a model for a new collection version');
      // 409, not 422: the request is well-formed; this server cannot load that model (not in its
      // cache while offline, an unsupported architecture), which may change without the request changing.
      throw new ConflictError(`this server cannot load model ${cfg.model}: ${why}`, { cause: err });
    }
    const key = keyOf(bindingOf(loaded.info));
    const known = key === this.servedKey ? this.served : await this.extra.get(key)?.embedder.catch(() => undefined);
    if (known) {
      await loaded.close().catch(() => undefined);
      return known;
    }
    this.extra.set(key, { embedder: Promise.resolve(loaded), usedAt: ++this.tick });
    this.evict();
    return loaded;
  }

  /** Closes every model loaded on demand (not the served one, which its owner closes). */
  async close(): Promise<void> {
    this.isClosed = true;
    const entries = [...this.extra.values()];
    this.extra.clear();
    await Promise.all(entries.map((e) => closeQuietly(e.embedder)));
  }

  private async loadChecked(binding: ModelBinding): Promise<Embedder> {
    let embedder: Embedder;
    try {
      embedder = await this.load(bindingModelConfig(this.opts.config, binding));
    } catch (err) {
      const why = err instanceof AppError ? err.detail : 'it failed to load (see the server log)';
      this.opts.logger?.warn({ err, model: binding.modelId }, 'could not load a collection version\'s model');
      throw new ConflictError(`this process cannot load ${binding.modelId} (the model a collection version is bound to): ${why}`, { cause: err });
    }
    const differing = bindingDifferences(bindingOf(embedder.info), binding);
    if (differing.length > 0) {
      await embedder.close().catch(() => undefined);
      throw new ConflictError(`${binding.modelId} loaded here differs from the collection version's binding in ${differing.join(', ')}`);
    }
    this.opts.logger?.info({ model: binding.modelId, dims: binding.dims }, 'loaded a collection version\'s model');
    return embedder;
  }

  private evict(): void {
    while (this.extra.size > this.maxExtra) {
      let oldestKey: string | undefined;
      let oldest = Infinity;
      for (const [key, entry] of this.extra) if (entry.usedAt < oldest) [oldest, oldestKey] = [entry.usedAt, key];
      const entry = this.extra.get(oldestKey!)!;
      this.extra.delete(oldestKey!);
      // Calls already holding it finish first: the engine drains its queue before closing.
      void closeQuietly(entry.embedder);
    }
  }
}

async function closeQuietly(embedder: Promise<Embedder>): Promise<void> {
  try {
    await (await embedder).close();
  } catch {
    // a model that failed to load has nothing to close
  }
}

/** One loaded model as an EmbedderSource (the CLI, evals): any other binding is refused with ConflictError. */
export function onlyEmbedder(embedder: Embedder): EmbedderSource {
  return {
    async forBinding(binding) {
      const differing = bindingDifferences(bindingOf(embedder.info), binding);
      if (differing.length > 0) throw new ConflictError(`the loaded model ${embedder.info.modelId} differs from the collection's binding (${binding.modelId}) in ${differing.join(', ')}`);
      return embedder;
    },
  };
}
