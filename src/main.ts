import { serve, type ServerType } from '@hono/node-server';
import { collectionConfigFor, defaultChunkOverlap, type AppDeps } from './app-deps.js';
import { API_VERSION, createApp } from './app.js';
import { ensureCollectionRecord } from './catalog/collections.js';
import { redactConfig, type Config } from './config.js';
import { EmbedderRegistry } from './embedding/embedder-registry.js';
import { loadEmbedder, type LoadHooks } from './embedding/load-embedder.js';
import type { EmbedOptions, Embedder } from './embedding/embedder.js';
import { createLogger, type Logger } from './lib/logger.js';
import { ConflictError } from './lib/errors.js';
import { countActiveKeys } from './auth/api-keys.js';
import { isLoopbackHost } from './auth/loopback.js';
import { OutboxWorker } from './outbox/outbox-worker.js';
import { openStores, type Stores } from './stores.js';
import { ImportKind } from './imports/import-kind.js';
import { removeOrphanUploads } from './imports/remove-orphan-uploads.js';
import { JobRunner } from './jobs/job-runner.js';
import { releaseAllLeases } from './jobs/job-store.js';
import { openUploadStorage } from './storage/open-upload-storage.js';
import { createReindexKind } from './versions/reindex-kind.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';

export interface RunningServer {
  url: string;
  deps: AppDeps;
  /** Stops intake, finishes in-flight work, stops the worker, closes stores. */
  close(): Promise<void>;
}

/**
 * The composition root: config → model, catalog, index, outbox worker → app → HTTP server.
 * `embedder` may be given (tests); otherwise the configured model is loaded.
 */
export async function startServer(config: Config, opts: { embedder?: Embedder; logger?: Logger; hooks?: LoadHooks } = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  logger.info({ config: redactConfig(config) }, 'starting biovec');
  const embedder = opts.embedder ?? (await loadEmbedder(config, opts.hooks));
  let stores: Stores | undefined;
  let embedders: EmbedderRegistry | undefined;
  try {
    stores = await openStores(config);
    const worker = new OutboxWorker({
      db: stores.database.db,
      index: stores.index,
      maxBackoffMs: config.outboxMaxBackoffMs,
      onError: (err, rows) => {
        metrics?.indexErrors.inc();
        logger.warn({ err, rows }, 'outbox rows will be retried: vector index unavailable?');
      },
      // Its points were lost outside biovec (a lost volume, a manual delete): an operator should know.
      onRebuild: (collection, indexName, queued) => logger.error({ collection, indexName, queued }, 'index collection was missing; rebuilding it from the catalog'),
    });
    let metrics: Metrics | undefined;
    metrics = createMetrics({ embedder, worker });
    const storage = await openUploadStorage(config);
    // Other collection versions' models load on demand; requests see each one queue-bounded.
    embedders = new EmbedderRegistry({ served: embedder, config, logger });
    const registry = embedders;
    const requestEmbedder = withQueueWaitBound(embedder, config.maxQueueWaitMs);
    const deps: AppDeps = {
      db: stores.database.db,
      index: stores.index,
      // Requests wait for inference at most maxQueueWaitMs (else 429); import jobs, which
      // pace themselves one batch at a time, use the embedder unbounded.
      embedder: requestEmbedder,
      embedders: {
        forBinding: async (b) => { const e = await registry.forBinding(b); return e === embedder ? requestEmbedder : withQueueWaitBound(e, config.maxQueueWaitMs); },
        resolve: (settings) => registry.resolve(settings),
      },
      worker,
      logger,
      auth: { isOpenWithoutKeys: isLoopbackHost(config.host) },
      limits: { maxBodyBytes: config.maxBodyBytes, maxDocumentsPerRequest: config.maxDocumentsPerRequest, maxUploadBytes: config.maxUploadBytes },
      imports: {
        // Jobs run by whichever process claims them; batches embed with the registry's models
        // unbounded (they pace themselves one batch at a time), not with the requests' bound.
        runner: new JobRunner({
          db: stores.database.db, logger, embedders: registry, leaseMs: config.jobLeaseMs, batchConcurrency: config.embedBatches, maxPendingBatches: config.maxPendingBatches,
          kinds: [new ImportKind({ storage, maxRecordBytes: config.maxRecordBytes }), createReindexKind({ db: stores.database.db, logger, onSwitch: () => worker.notify() })],
          onBatch: () => worker.notify(),
        }),
        storage,
      },
      collectionConfig: collectionConfigFor(embedder),
      metrics,
      info: { version: API_VERSION, catalog: stores.describe.catalog, index: stores.describe.index, node: process.version },
      servedModelName: config.servedModelName || undefined,
      corsAllowOrigin: config.corsAllowOrigin,
    };
    await checkAuthPolicy(config.host, deps, logger);
    await ensureCollectionRecord(deps.db, deps.collectionConfig(config.defaultCollection, { distance: 'cosine', chunkOverlap: defaultChunkOverlap(embedder) }));
    // Off on replicas that leave the outbox to others: each embedded index is its own, and only
    // the process whose index serves searches may take rows off the shared outbox.
    if (config.applyOutbox) worker.start();
    else logger.info('not applying the outbox (BIOVEC_APPLY_OUTBOX=false): `biovec worker` or another replica does');
    // Only work whose lease is free or expired is claimed: a job another live process holds,
    // and its upload, are left alone (issue 16; this replaced resuming every unfinished job).
    await removeOrphanUploads(deps.db, storage, logger).catch((err: unknown) => logger.warn({ err }, 'could not sweep orphan uploads'));
    if (stores.database.kind === 'pglite') await releaseAllLeases(deps.db);
    deps.imports.runner.start();
    const app = createApp(deps);
    const server = await listen(app.fetch, config.host, config.port);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, model: embedder.info.modelId, dims: embedder.info.dims, catalog: stores.describe.catalog, index: stores.describe.index }, 'biovec is serving');
    const opened = stores;
    return {
      url,
      deps,
      async close() {
        // Every step runs against one deadline: a slow export download or an import batch
        // mid-inference must not hold the shutdown hostage (32 s were seen, issue 10). What is
        // cut short is safe: the catalog commits per batch, imports resume, the outbox persists.
        const deadline = Date.now() + config.shutdownTimeoutMs;
        const left = (reserveMs = 0) => Math.max(0, deadline - reserveMs - Date.now());
        const http = server as import('node:http').Server;
        const force = setTimeout(() => http.closeAllConnections(), left(STORE_CLOSE_RESERVE_MS));
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        const importsStopped = deps.imports.runner.stop();
        await waitAtMost(Promise.all([httpClosed, importsStopped]), left(STORE_CLOSE_RESERVE_MS), 'in-flight requests and imports', logger);
        clearTimeout(force);
        http.closeAllConnections();
        await waitAtMost(worker.stop(), left(STORE_CLOSE_RESERVE_MS), 'the outbox worker', logger);
        await waitAtMost(Promise.all([embedder.close(), registry.close()]), left(STORE_CLOSE_RESERVE_MS), 'the models', logger);
        await waitAtMost(opened.close(), left(), 'closing the catalog and index', logger);
        logger.info({ overMs: Math.max(0, Date.now() - deadline) }, 'biovec stopped');
      },
    };
  } catch (err) {
    await embedders?.close();
    await stores?.close();
    if (!opts.embedder) await embedder.close();
    throw err;
  }
}

// Kept back from the shutdown deadline for flushing the index and closing the catalog.
const STORE_CLOSE_RESERVE_MS = 2_000;

/** Resolves when `work` settles or after `ms`, whichever is first (a warning names what was cut short). */
async function waitAtMost(work: Promise<unknown>, ms: number, what: string, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  const outcome = await Promise.race([work.then(() => 'done' as const, (err: unknown) => { logger.warn({ err }, `shutdown: ${what} failed`); return 'done' as const; }), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') logger.warn(`shutdown: gave up waiting for ${what} at the deadline`);
}

/** The embedder as requests see it: each call refuses (429) work that would queue past `maxQueueWaitMs`. */
function withQueueWaitBound(embedder: Embedder, maxQueueWaitMs: number): Embedder {
  const bounded = <T extends EmbedOptions>(options: T | undefined): T => ({ maxQueueWaitMs, ...options }) as T;
  const overrides: Partial<Embedder> = {
    embed: (texts, options) => embedder.embed(texts, bounded(options)),
    embedChunks: (chunks, options) => embedder.embedChunks(chunks, bounded(options)),
    ...(embedder.embedTokens ? { embedTokens: (texts, options) => embedder.embedTokens!(texts, bounded(options)) } : {}),
  };
  // Only the calls that queue inference change; every other member is the engine's own, so an
  // optional capability cannot be dropped by a forwarding list that forgot it (/embed_all was).
  return new Proxy(embedder, {
    get: (target, prop) => {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof Embedder];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Without API keys the API is open: allowed only on a loopback address, and said at start. */
async function checkAuthPolicy(host: string, deps: AppDeps, logger: Logger): Promise<void> {
  if ((await countActiveKeys(deps.db)) > 0) {
    logger.info('API keys are required (Authorization: Bearer …)');
    return;
  }
  if (!isLoopbackHost(host)) {
    throw new ConflictError(`refusing to serve on ${host} without API keys: create one with \`biovec keys create --scope admin\`, or bind to 127.0.0.1`);
  }
  logger.warn({ host }, 'no API keys exist: the API is open to anyone who can reach this loopback address');
}

function listen(fetch: (req: Request) => Response | Promise<Response>, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}
