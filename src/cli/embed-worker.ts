import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { EmbedderRegistry } from '../embedding/embedder-registry.js';
import { ImportKind } from '../imports/import-kind.js';
import { JobRunner } from '../jobs/job-runner.js';
import { createLogger } from '../lib/logger.js';
import { OutboxWorker } from '../outbox/outbox-worker.js';
import { openUploadStorage } from '../storage/open-upload-storage.js';
import { createReindexKind } from '../versions/reindex-kind.js';
import type { VectorIndex } from '../vectors/vector-index.js';
import { loadEmbedderForCli } from './load-for-cli.js';
import { withCatalog, withStores } from './with-stores.js';

/**
 * `biovec worker --embed`: claims import and re-index batches from the shared catalog and
 * embeds them with the configured model (others load on demand), until SIGTERM/SIGINT, which
 * gives its leases back. With --plan it also claims jobs (reads their uploads: the storage
 * must be shared); with --outbox it also applies the outbox. Run one per core group or GPU.
 */
export async function runEmbedWorker(config: Config, opts: { shouldPlan: boolean; shouldApplyOutbox: boolean; pollMs: number }): Promise<void> {
  const work = async (db: Database, index: VectorIndex | undefined) => {
    const logger = createLogger({ level: config.logLevel, destination: 'stderr' });
    const served = await loadEmbedderForCli(config);
    const embedders = new EmbedderRegistry({ served, config, logger });
    const outbox = index ? new OutboxWorker({ db, index, maxBackoffMs: config.outboxMaxBackoffMs }) : undefined;
    const runner = new JobRunner({
      db, logger, embedders, shouldPlan: opts.shouldPlan, batchConcurrency: Math.max(1, config.embedBatches), leaseMs: config.jobLeaseMs,
      maxPendingBatches: config.maxPendingBatches, pollMs: opts.pollMs,
      kinds: [new ImportKind({ storage: await openUploadStorage(config), maxRecordBytes: config.maxRecordBytes }), createReindexKind({ db, logger, onSwitch: () => outbox?.notify() })],
      onBatch: () => outbox?.notify(),
    });
    try {
      outbox?.start(opts.pollMs);
      runner.start();
      process.stderr.write(`biovec worker: embedding batches with ${served.info.modelId} as ${runner.owner}${opts.shouldPlan ? ', planning jobs' : ''}${outbox ? ', applying the outbox' : ''}; SIGTERM to stop\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await runner.stop();
      await outbox?.stop();
      process.stderr.write('biovec worker: stopped; its batches were given back\n');
    } finally {
      await embedders.close();
      await served.close();
    }
  };
  if (opts.shouldApplyOutbox) await withStores(config, ({ database, index }) => work(database.db, index));
  else await withCatalog(config, (database) => work(database.db, undefined));
}
