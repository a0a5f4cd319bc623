import type { Command } from 'commander';
import { OutboxWorker } from '../outbox/outbox-worker.js';
import { reconcile } from '../outbox/reconcile.js';
import { configFrom } from './config-options.js';
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
    .option('--lexical', 'with --repair: give index collections made before the lexical index one even where that means re-creating them (Qdrant; searches answer 503 until refilled)')
    .action(async (o: { repair?: boolean; collection?: string; lexical?: boolean }, cmd: Command) => {
      await withStores(configFrom(cmd, env), async ({ database, index }) => {
        const reports = await reconcile({ db: database.db, index, repair: o.repair === true, collection: o.collection, recreateForLexical: o.lexical === true });
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
    .description('Apply the outbox to the vector index until SIGTERM/SIGINT (run several against Postgres to scale out)')
    .option('--poll-ms <ms>', 'idle poll interval', '500')
    .action(async (o: { pollMs: string }, cmd: Command) => {
      const config = configFrom(cmd, env);
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
