// Embedding workers scale out (issue 16): the same import embedded by 1, then 2, `biovec worker
// --embed` processes, each with one inference thread, sharing one Postgres:
//   npm run -s bench:workers [-- --json] [--database-url postgres://…] [--model .models/all-MiniLM-L6-v2] [--texts 600] [--rounds 2]
// Rounds alternate 1, 2, 1, 2, … on a fresh database each; a round is timed from the job's
// creation to its completion (workers are started and their model loaded before), in batches
// of --batch-records. Each
// configuration keeps its best round; ratio_2_vs_1 = tokens/s with 2 workers over 1.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { collectionConfigFor } from '../src/app-deps.js';
import { ensureCollectionRecord } from '../src/catalog/collections.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { loadEmbedder } from '../src/embedding/load-embedder.js';
import { ImportKind } from '../src/imports/import-kind.js';
import { createImportJob } from '../src/imports/job-store.js';
import { JobRunner } from '../src/jobs/job-runner.js';
import { getJob } from '../src/jobs/job-store.js';
import { ConflictError } from '../src/lib/errors.js';
import { silentLogger } from '../src/lib/logger.js';
import { DirectoryStorage } from '../src/storage/directory-storage.js';
import { loadBenchTexts } from './lib/bench-texts.js';
import { cpuFlags } from './lib/cpu-flags.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    'database-url': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres' },
    model: { type: 'string', default: '.models/all-MiniLM-L6-v2' },
    texts: { type: 'string', default: '600' },
    // Records per batch: small enough that two workers finish together (a batch is the unit of work).
    'batch-records': { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
  },
});
const REPO = resolve(import.meta.dirname, '..');
const model = resolve(values.model);
if (!existsSync(model)) {
  process.stderr.write(`bench:workers: no model at ${model}: run bash scripts/fetch-models.sh first\n`);
  process.exit(2);
}
const work = await mkdtemp(join(tmpdir(), 'biovec-bench-workers-'));
const admin = values['database-url'];
const { texts, source } = await loadBenchTexts(Number(values.texts));
const settings = { BIOVEC_MODEL: model, BIOVEC_THREADS: '1', BIOVEC_INFERENCE: 'inline', HF_HUB_OFFLINE: '1', BIOVEC_CACHE_DIR: join(work, 'cache'), BIOVEC_LOG_LEVEL: 'warn' };
const config = loadConfig(settings);
// The bench's own copy of the model only binds the collection (the workers must match it).
const probe = await loadEmbedder(config);
const binding = collectionConfigFor(probe)('bench', { distance: 'cosine', chunkOverlap: 0 });
await probe.close();

async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `biovec_bench_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

function startWorker(databaseUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli.ts'), 'worker', '--embed', '--poll-ms', '50'], {
    cwd: REPO, env: { PATH: process.env.PATH, HOME: work, DATABASE_URL: databaseUrl, BIOVEC_DATA_DIR: join(work, 'data'), ...settings },
  });
  let log = '';
  return new Promise((ok, fail) => {
    child.stderr!.on('data', (d) => {
      log += d;
      if (log.includes('biovec worker: embedding batches')) ok(child);
    });
    child.stdout!.resume();
    child.once('close', () => fail(new Error(`worker exited: ${log.slice(-2000)}`)));
  });
}

/** CPU seconds a process has used (user + system), from /proc (Linux; 0 elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return 0;
  }
}

async function round(workers: number): Promise<{ seconds: number; tokens: number; cpuS: number }> {
  const database = await freshDatabase();
  const handle = await openDatabase({ databaseUrl: database.url, poolSize: 4 });
  const children: ChildProcess[] = [];
  const storage = new DirectoryStorage(join(work, 'uploads'));
  const planner = new JobRunner({
    db: handle.db, logger: silentLogger(), batchConcurrency: 0, pollMs: 50, kinds: [new ImportKind({ storage, batchSize: Number(values['batch-records']) })],
    embedders: { forBinding: async () => { throw new ConflictError('the bench process plans only'); } },
  });
  try {
    await migrateDatabase(handle);
    const collection = await ensureCollectionRecord(handle.db, binding);
    for (let i = 0; i < workers; i++) children.push(await startWorker(database.url));
    const key = `${crypto.randomUUID()}.upload`;
    await storage.put(key, Readable.from([texts.map((t, i) => JSON.stringify({ id: `t${i}`, text: t })).join('\n')]), { maxBytes: 1e9 });
    const cpuBefore = children.reduce((n, c) => n + cpuSeconds(c.pid), 0);
    const started = performance.now();
    const job = await createImportJob(handle.db, collection.id, { upload: key, format: 'ndjson', mapping: {}, bytes: 1, bytesRead: 0, progress: { cursor: 0 } });
    planner.start();
    for (;;) {
      const row = await getJob(handle.db, job.id);
      if (row.status === 'completed') break;
      if (row.status !== 'running' && row.status !== 'queued') throw new Error(`the bench import ${row.status}: ${JSON.stringify(row.state.error)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    // The CPU the workers got: on a shared machine, what their wall-clock rate depends on.
    const cpuS = children.reduce((n, c) => n + cpuSeconds(c.pid), 0) - cpuBefore;
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query('select coalesce(sum(token_count), 0)::int as n from chunks');
    // Catalog size per document (table + TOAST + indexes), for README's PubMed sizing.
    const size = (await client.query("select (select count(*) from documents)::int as docs, (select count(*) from chunks)::int as chunks, pg_total_relation_size('documents')::bigint as documents, pg_total_relation_size('chunks')::bigint as chunk_bytes")).rows[0];
    // Who wrote the batches (done batches keep their last lease owner): every worker took a share.
    const shares = (await client.query("select count(*)::int as n from job_batches where status = 'done' group by lease_owner order by 1 desc")).rows.map((r) => r.n as number);
    await client.end();
    batchesByWorker[workers] = shares;
    sizes = { documentBytesPerDoc: Math.round(Number(size.documents) / size.docs), chunkBytesPerChunk: Math.round(Number(size.chunk_bytes) / size.chunks), chunksPerDoc: Number((size.chunks / size.docs).toFixed(3)) };
    return { seconds, tokens: rows[0].n as number, cpuS };
  } finally {
    await planner.stop();
    await Promise.all(children.map((c) => new Promise<void>((ok) => { c.once('close', () => ok()); c.kill('SIGTERM'); })));
    await handle.close();
    await database.drop();
  }
}

let sizes: Record<string, number> = {};
const batchesByWorker: Record<number, number[]> = {};
const results: Record<1 | 2, { seconds: number; tokens: number; tokensPerS: number; cpuS: number }[]> = { 1: [], 2: [] };
const loadBefore = loadavg()[0]!;
for (let r = 0; r < Number(values.rounds); r++) {
  for (const n of [1, 2] as const) {
    const { seconds, tokens, cpuS } = await round(n);
    results[n].push({ seconds, tokens, tokensPerS: tokens / seconds, cpuS });
    process.stderr.write(`bench:workers: round ${r + 1}, ${n} worker(s): ${tokens} tokens in ${seconds.toFixed(1)} s = ${Math.round(tokens / seconds)} tokens/s, workers' CPU ${cpuS.toFixed(1)} s = ${(cpuS / seconds).toFixed(2)} cores (load ${loadavg()[0]!.toFixed(2)})\n`);
  }
}
await rm(work, { recursive: true, force: true });
const best = (n: 1 | 2) => Math.max(...results[n].map((x) => x.tokensPerS));
const line = {
  model: values.model, texts: texts.length, source, rounds: Number(values.rounds), threads_per_worker: 1,
  tokens: results[1][0]!.tokens,
  tokens_per_s_1_worker: Math.round(best(1)), tokens_per_s_2_workers: Math.round(best(2)),
  ratio_2_vs_1: Number((best(2) / best(1)).toFixed(3)),
  // Each round's 2-worker figure over the 1-worker one just before it: on a shared machine the
  // load moves between rounds, and adjacent rounds saw the most similar load.
  ratio_per_round: results[2].map((x, i) => Number((x.tokensPerS / results[1][i]!.tokensPerS).toFixed(3))),
  rounds_tokens_per_s: { 1: results[1].map((x) => Math.round(x.tokensPerS)), 2: results[2].map((x) => Math.round(x.tokensPerS)) },
  // Cores the workers got on average (CPU s / wall s), and tokens per CPU second: where the
  // machine is shared, the second says whether a worker did as much with what it was given.
  worker_cores_per_round: { 1: results[1].map((x) => Number((x.cpuS / x.seconds).toFixed(2))), 2: results[2].map((x) => Number((x.cpuS / x.seconds).toFixed(2))) },
  tokens_per_cpu_s: { 1: results[1].map((x) => Math.round(x.tokens / x.cpuS)), 2: results[2].map((x) => Math.round(x.tokens / x.cpuS)) },
  batches_by_worker_last_round: batchesByWorker,
  catalog_bytes: sizes, dims: binding.dims,
  cpu_flags: cpuFlags(), cores: availableParallelism(), load_average_before: Number(loadBefore.toFixed(2)), load_average_after: Number(loadavg()[0]!.toFixed(2)),
};
if (values.json) process.stdout.write(`${JSON.stringify(line)}\n`);
else for (const [k, v] of Object.entries(line)) process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
