import type { Command } from 'commander';
import { eq } from 'drizzle-orm';
import { jobs } from '../db/schema.js';
import { EmbedderRegistry } from '../embedding/embedder-registry.js';
import { JobRunner } from '../jobs/job-runner.js';
import { InvalidInputError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { OutboxWorker } from '../outbox/outbox-worker.js';
import type { Stores } from '../stores.js';
import { createReindexKind } from '../versions/reindex-kind.js';
import { createVersion, dropVersion, listCollectionVersions, switchVersion } from '../versions/version-service.js';
import { versionView } from '../versions/version-view.js';
import { configFrom } from './config-options.js';
import { loadEmbedderForCli } from './load-for-cli.js';
import { withStores } from './with-stores.js';

const positive = (v: string, flag: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`${flag} must be a positive integer, got ${v}`);
  return n;
};

/** `biovec versions create|list|switch|drop`: a collection's model versions (re-index on a model change). */
export function addVersionCommands(program: Command, env: Record<string, string | undefined>): void {
  const versions = program.command('versions').description("A collection's model versions: re-index into another model, switch (back), drop");
  versions
    .command('create')
    .description('Re-index a collection into a new version bound to the model given by --model (and --pooling, --max-length, --quantize, prompts); switches to it once complete')
    .requiredOption('--collection <name>', 'the collection')
    .option('--chunk-overlap <tokens>', "tokens shared by consecutive chunks (default: the collection's)")
    .option('--no-wait', 'only start it: a server or `biovec worker --embed` on the same catalog runs the job')
    .action(async (o: { collection: string; chunkOverlap?: string; wait: boolean }, cmd: Command) => {
      const config = configFrom(cmd, env);
      const chunkOverlap = o.chunkOverlap === undefined ? undefined : Number(o.chunkOverlap);
      if (chunkOverlap !== undefined && (!Number.isInteger(chunkOverlap) || chunkOverlap < 0)) throw new InvalidInputError(`--chunk-overlap must be a whole number of tokens, got ${o.chunkOverlap}`);
      const embedder = await loadEmbedderForCli(config);
      const registry = new EmbedderRegistry({ served: embedder, config });
      try {
        await withStores(config, async (stores) => {
          const { version, job } = await createVersion({ db: stores.database.db, embedders: registry }, o.collection, { chunkOverlap });
          process.stderr.write(`biovec: version ${version.version} of ${o.collection} (${version.modelId}) is building: job ${job.id}\n`);
          if (o.wait) await runUntilDone(stores, registry, job.id);
          process.stdout.write(`${JSON.stringify(versionView({ record: version, isCurrent: false }))}\n`);
        });
      } finally {
        await registry.close();
        await embedder.close();
      }
    });
  versions
    .command('list')
    .description("List a collection's versions (JSON lines)")
    .requiredOption('--collection <name>', 'the collection')
    .action(async (o: { collection: string }, cmd: Command) => {
      await withStores(configFrom(cmd, env), async ({ database }) => {
        const { versions: list } = await listCollectionVersions(database.db, o.collection);
        for (const v of list) process.stdout.write(`${JSON.stringify(versionView(v))}\n`);
      });
    });
  versions
    .command('switch <version>')
    .description('Switch the collection to a ready version at once; documents changed since it was current are re-embedded by a catch-up job (run by a server or `biovec worker --embed`)')
    .requiredOption('--collection <name>', 'the collection')
    .action(async (v: string, o: { collection: string }, cmd: Command) => {
      const number = positive(v, 'version');
      await withStores(configFrom(cmd, env), async ({ database, index }) => {
        const out = await switchVersion(database.db, o.collection, number);
        await new OutboxWorker({ db: database.db, index }).drain(60_000); // moves the alias now
        process.stdout.write(`${JSON.stringify({ collection: o.collection, version: out.collection.version, stale: out.stale, job_id: out.job?.id ?? null })}\n`);
      });
    });
  versions
    .command('drop <version>')
    .description('Drop a version that is not the current one (its vectors and index collection)')
    .requiredOption('--collection <name>', 'the collection')
    .action(async (v: string, o: { collection: string }, cmd: Command) => {
      const number = positive(v, 'version');
      await withStores(configFrom(cmd, env), async ({ database, index }) => {
        await dropVersion(database.db, o.collection, number);
        await new OutboxWorker({ db: database.db, index }).drain(60_000);
        process.stderr.write(`biovec: dropped version ${number} of ${o.collection}\n`);
      });
    });
}

/** Runs the re-index job in this process (with the outbox, so the index follows) until it ends. */
async function runUntilDone(stores: Stores, registry: EmbedderRegistry, jobId: string): Promise<void> {
  const db = stores.database.db;
  const logger = createLogger({ level: 'warn', destination: 'stderr' });
  const worker = new OutboxWorker({ db, index: stores.index });
  const runner = new JobRunner({ db, logger, embedders: registry, pollMs: 200, kinds: [createReindexKind({ db, logger, onSwitch: () => worker.notify() })], onBatch: () => worker.notify() });
  worker.start(200);
  runner.start();
  try {
    for (;;) {
      const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId));
      if (!job || !['queued', 'running'].includes(job.status)) {
        process.stderr.write(`biovec: re-index job ${jobId} ${job?.status ?? 'vanished'}${job?.state.error ? `: ${String(job.state.error)}` : ''}\n`);
        if (job?.status !== 'completed') process.exitCode = 1;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await runner.stop();
    await worker.drain(60_000);
    await worker.stop();
  }
}
