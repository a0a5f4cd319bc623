import { serve, type ServerType } from '@hono/node-server';
import { collectionConfigFor, defaultChunkOverlap, type AppDeps } from './app-deps.js';
import { API_VERSION, createApp } from './app.js';
import { ensureCollectionRecord } from './catalog/collections.js';
import { redactConfig, type Config } from './config.js';
import { loadEmbedder, type LoadHooks } from './embedding/load-embedder.js';
import type { Embedder } from './embedding/embedder.js';
import { createLogger, type Logger } from './lib/logger.js';
import { ConflictError } from './lib/errors.js';
import { countActiveKeys } from './auth/api-keys.js';
import { OutboxWorker } from './outbox/outbox-worker.js';
import { openStores, type Stores } from './stores.js';
import { ImportJobRunner } from './imports/job-runner.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { join } from 'node:path';

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
  try {
    stores = await openStores(config);
    const worker = new OutboxWorker({
      db: stores.database.db,
      index: stores.index,
      onError: (err, rows) => {
        metrics?.indexErrors.inc();
        logger.warn({ err, rows }, 'outbox rows will be retried: vector index unavailable?');
      },
    });
    let metrics: Metrics | undefined;
    metrics = createMetrics({ embedder, worker });
    const deps: AppDeps = {
      db: stores.database.db,
      index: stores.index,
      embedder,
      worker,
      logger,
      limits: { maxBodyBytes: config.maxBodyBytes, maxDocumentsPerRequest: config.maxDocumentsPerRequest, maxUploadBytes: config.maxUploadBytes },
      imports: { runner: new ImportJobRunner({ db: stores.database.db, embedder, logger, onBatch: () => worker.notify() }), uploadsDir: join(config.dataDir, 'uploads') },
      collectionConfig: collectionConfigFor(embedder),
      metrics,
      info: { version: API_VERSION, catalog: stores.describe.catalog, index: stores.describe.index, node: process.version },
    };
    await checkAuthPolicy(config.host, deps, logger);
    await ensureCollectionRecord(deps.db, deps.collectionConfig(config.defaultCollection, { distance: 'cosine', chunkOverlap: defaultChunkOverlap(embedder) }));
    worker.start();
    const resumed = await deps.imports.runner.resumeUnfinished();
    if (resumed > 0) logger.info({ jobs: resumed }, 'resuming unfinished imports');
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
        // Stop intake; in-flight requests finish, but never for longer than the bound
        // (a slow export download must not hold the shutdown hostage).
        const http = server as import('node:http').Server;
        const force = setTimeout(() => http.closeAllConnections(), SHUTDOWN_GRACE_MS);
        await new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        clearTimeout(force);
        await deps.imports.runner.stop();
        await worker.stop();
        await embedder.close();
        await opened.close();
        logger.info('biovec stopped');
      },
    };
  } catch (err) {
    await stores?.close();
    if (!opts.embedder) await embedder.close();
    throw err;
  }
}

const SHUTDOWN_GRACE_MS = 20_000;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Without API keys the API is open: allowed only on a loopback address, and said at start. */
async function checkAuthPolicy(host: string, deps: AppDeps, logger: Logger): Promise<void> {
  if ((await countActiveKeys(deps.db)) > 0) {
    logger.info('API keys are required (Authorization: Bearer …)');
    return;
  }
  if (!LOOPBACK.has(host)) {
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
