import type { Command } from 'commander';
import { InvalidInputError } from '../lib/errors.js';
import { OutboxWorker } from '../outbox/outbox-worker.js';
import { reconcile } from '../outbox/reconcile.js';
import { configFrom } from './config-options.js';
import { runEmbedWorker } from './embed-worker.js';
import { withStores } from './with-stores.js';

/** `migrate`, `reconcile` and `worker`: the catalog and index commands. */
export function addStoreCommands(program: Command, env: Record<string, string | undefined>): void {
  program
    .command('migrate')
    .description('Apply pending catalog migrations (PGlite under the data dir, or DATABASE_URL)')
    .action(async (_o: unknown, cmd: Command) => {
      await withStores(configFrom(cmd, env), async (stores) => {
        process.stderr.write(`biovec: ${stores.describe.catalog} catalog is up to date\n`);
      });
    });

  program
    .command('reconcile')
    .description('Compare catalog and vector index; report missing, orphan and stale points (JSON), and repair with --repair')
    .option('--repair', 'queue re-syncs for missing/stale points, delete orphans, then drain the outbox')
    .option('--collection <name>', 'only this collection')
    .option('--at-version <n>', 'compare this collection version (a building one, or one kept for switching back) instead of the current one; with --collection')
    .option('--lexical', 'with --repair: give index collections made before the lexical index one even where that means re-creating them (Qdrant; searches answer 503 until refilled)')
    .action(async (o: { repair?: boolean; collection?: string; lexical?: boolean; atVersion?: string }, cmd: Command) => {
      const version = o.atVersion === undefined ? undefined : Number(o.atVersion);
      if (version !== undefined && (!Number.isInteger(version) || version < 1 || !o.collection)) throw new InvalidInputError('--at-version needs a positive integer and --collection');
      await withStores(configFrom(cmd, env), async ({ database, index }) => {
        const reports = await reconcile({ db: database.db, index, repair: o.repair === true, collection: o.collection, recreateForLexical: o.lexical === true, version });
        if (o.repair) {
          const left = await new OutboxWorker({ db: database.db, index }).drain(10 * 60_000);
          if (left > 0) process.stderr.write(`biovec: ${left} outbox row(s) still pending (index unavailable?); run again later\n`);
        }
        for (const report of reports) process.stdout.write(`${JSON.stringify(report)}\n`);
        const drift = reports.some((r) => r.missing + r.orphans + r.stale > 0);
        if (drift && !o.repair) process.exitCode = 3;
      });
    });

  program
    .command('worker')
    .description('Apply the outbox to the vector index until SIGTERM/SIGINT (run several against Postgres to scale out); with --embed, embed import and re-index batches instead')
    .option('--poll-ms <ms>', 'idle poll interval', '500')
    .option('--embed', 'claim and embed import/re-index batches with the configured model (--embed-batches at once); Postgres needed to share the work')
    .option('--plan', 'with --embed: also claim jobs and read their uploads into batches (needs the shared upload storage)')
    .option('--outbox', 'with --embed: also apply the outbox to the vector index')
    .action(async (o: { pollMs: string; embed?: boolean; plan?: boolean; outbox?: boolean }, cmd: Command) => {
      const config = configFrom(cmd, env);
      if (o.embed) return runEmbedWorker(config, { shouldPlan: o.plan === true, shouldApplyOutbox: o.outbox === true, pollMs: Number(o.pollMs) });
      await withStores(config, async ({ database, index }) => {
        const worker = new OutboxWorker({
          db: database.db,
          index,
          maxBackoffMs: config.outboxMaxBackoffMs,
          onError: (err, rows) => process.stderr.write(`biovec worker: ${rows} row(s) will be retried: ${(err as Error).message}\n`),
          onRebuild: (collection, indexName, queued) => process.stderr.write(`biovec worker: index collection ${indexName} of ${collection} was missing; rebuilding it from the catalog (${queued} documents queued)\n`),
        });
        worker.start(Number(o.pollMs));
        process.stderr.write('biovec worker: applying the outbox; SIGTERM to stop\n');
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', resolve);
          process.once('SIGINT', resolve);
        });
        await worker.stop();
        process.stderr.write(`biovec worker: stopped with ${await worker.backlog()} row(s) pending\n`);
      });
    });
}
