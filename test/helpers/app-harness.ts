import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectionConfigFor, defaultChunkOverlap, type AppDeps } from '../../src/app-deps.js';
import { createApp } from '../../src/app.js';
import { ensureCollectionRecord } from '../../src/catalog/collections.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import type { JobKind } from '../../src/jobs/job-kind.js';
import { EmbedderRegistry } from '../../src/embedding/embedder-registry.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/lib/logger.js';
import { ImportKind } from '../../src/imports/import-kind.js';
import { JobRunner } from '../../src/jobs/job-runner.js';
import { createReindexKind } from '../../src/versions/reindex-kind.js';
import { DirectoryStorage } from '../../src/storage/directory-storage.js';
import type { UploadStorage } from '../../src/storage/upload-storage.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { OutboxWorker } from '../../src/outbox/outbox-worker.js';
import { EmbeddedIndex } from '../../src/vectors/adapters/embedded/embedded-index.js';
import type { VectorIndex } from '../../src/vectors/vector-index.js';
import { openTestDatabase, type TestDatabase } from './database.js';

export interface Harness {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  /** JSON request helper: returns status, headers and parsed body. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: any }>;
  /** Applies the outbox now (the background worker does it within ~50 ms anyway). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** The real app over a fresh PGlite (or Postgres), an embedded index in a temp dir, and the given embedder. */
export async function createHarness(opts: { embedder: Embedder; backend?: 'pglite' | 'postgres'; wrapIndex?: (index: VectorIndex) => VectorIndex; limits?: Partial<AppDeps['limits']>; auth?: AppDeps['auth']; logger?: AppDeps['logger']; maxRecordBytes?: number; embedders?: EmbedderRegistry; kinds?: JobKind[]; storage?: UploadStorage }): Promise<Harness> {
  const db: TestDatabase = await openTestDatabase(opts.backend ?? 'pglite');
  const dir = await mkdtemp(join(tmpdir(), 'biovec-app-'));
  const embedded = await EmbeddedIndex.openAt(dir);
  const index = opts.wrapIndex ? opts.wrapIndex(embedded) : embedded;
  const worker = new OutboxWorker({ db: db.handle.db, index, baseBackoffMs: 20, maxBackoffMs: 200 });
  const embedders = opts.embedders ?? new EmbedderRegistry({ served: opts.embedder, config: loadConfig({}, { model: opts.embedder.info.modelId, threads: 1, hfHubOffline: true, inference: 'inline', cacheDir: join(dir, 'model-cache') }) });
  const deps: AppDeps = {
    db: db.handle.db,
    index,
    embedder: opts.embedder,
    embedders,
    worker,
    logger: opts.logger ?? silentLogger(),
    limits: { maxBodyBytes: 1024 * 1024, maxDocumentsPerRequest: 200, maxUploadBytes: 64 * 1024 * 1024, ...opts.limits },
    auth: opts.auth ?? { isOpenWithoutKeys: true },
    imports: { runner: undefined as unknown as JobRunner, storage: opts.storage ?? new DirectoryStorage(join(dir, 'uploads')) },
    collectionConfig: collectionConfigFor(opts.embedder),
    metrics: createMetrics({ embedder: opts.embedder, worker }),
    info: { version: 'test', catalog: db.handle.kind, index: 'embedded' },
  };
  // Two batches in flight, as one server embeds while it writes; a short poll keeps tests quick.
  deps.imports.runner = new JobRunner({
    db: deps.db, logger: deps.logger, embedders, batchConcurrency: 2, pollMs: 50,
    kinds: [new ImportKind({ storage: deps.imports.storage, maxRecordBytes: opts.maxRecordBytes }), createReindexKind({ db: deps.db, logger: deps.logger, batchDocuments: 4, onSwitch: () => worker.notify() }), ...(opts.kinds ?? [])],
    onBatch: () => worker.notify(),
  });
  await ensureCollectionRecord(deps.db, deps.collectionConfig('default', { distance: 'cosine', chunkOverlap: defaultChunkOverlap(opts.embedder) }));
  worker.start(50);
  deps.imports.runner.start();
  const app = createApp(deps);
  return {
    app,
    deps,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      const res = await app.request(path, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: leave the text
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async drain() {
      await worker.drain(20_000);
    },
    async close() {
      await deps.imports.runner.stop();
      await worker.stop();
      await embedders.close?.();
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
      await db.cleanup();
    },
  };
}

/** Polls GET /v1/jobs/{id} until the job completes, fails or is cancelled. */
export async function waitForJob(h: Harness, id: string): Promise<any> {
  for (let i = 0; i < 1200; i++) {
    const job = (await h.call('GET', `/v1/jobs/${id}`)).body;
    if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not finish`);
}
