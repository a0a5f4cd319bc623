import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openTestDatabase, type TestDatabase } from './database.js';
import { REPO_ROOT, fixtureModel } from './fixtures.js';
import { runTsx, type Run } from './run-tsx.js';

/**
 * Real biovec processes (the CLI, through tsx) sharing one Postgres, for the issue 16 tests:
 * API replicas (`biovec serve`) and `biovec worker --embed`. The index is Qdrant when a URL is
 * given, else each process's embedded index in its own data dir (one process may hold a dir).
 */
export interface Proc {
  child: ChildProcess;
  log: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface Served extends Proc {
  url: string;
}

export interface CliProcesses {
  /** The environment every process gets; `extra` wins. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Starts a CLI process and resolves once its stderr shows `ready`. */
  start(args: string[], ready: string, extraEnv?: Record<string, string>): Promise<Proc>;
  serve(extraEnv?: Record<string, string>): Promise<Served>;
  worker(extraEnv?: Record<string, string>): Promise<Proc>;
  /** A one-off CLI command (reconcile, …) with the same environment. */
  run(args: string[], extraEnv?: Record<string, string>): Promise<Run>;
  /** SIGKILLs whatever still runs. */
  killAll(): Promise<void>;
}

/** What a multi-process suite works with, filled in by its beforeAll. */
export interface SharedPostgresRig {
  /** Scratch directory: HOME, caches, uploads and data dirs of every process. */
  work: string;
  db: TestDatabase;
  /** A plain client on the shared database, for planting and checking rows. */
  admin: pg.Client;
  cli: CliProcesses;
}

/**
 * Registers a suite's set-up and teardown (call it inside `describe`): a fresh Postgres
 * database, a scratch dir, an admin client and the process harness; afterwards every process
 * is killed, and on Qdrant the collection's `<collection>__v<N>` for each of `qdrantVersions`
 * is deleted.
 */
export function sharedPostgresRig(opts: { prefix: string; collection: string; qdrantUrl?: string; qdrantVersions: number[] }): SharedPostgresRig {
  const rig = {} as SharedPostgresRig;
  beforeAll(async () => {
    rig.work = await mkdtemp(join(tmpdir(), opts.prefix));
    rig.db = await openTestDatabase('postgres');
    rig.admin = new pg.Client({ connectionString: rig.db.url });
    await rig.admin.connect();
    rig.cli = cliProcesses({ work: rig.work, databaseUrl: rig.db.url!, qdrantUrl: opts.qdrantUrl, collection: opts.collection });
  });
  afterAll(async () => {
    await rig.cli?.killAll();
    await rig.admin?.end();
    await rig.db?.cleanup();
    if (rig.work) await rm(rig.work, { recursive: true, force: true });
    if (opts.qdrantUrl) {
      for (const v of opts.qdrantVersions) await fetch(`${opts.qdrantUrl}/collections/${opts.collection}__v${v}`, { method: 'DELETE' }).catch(() => undefined);
    }
  });
  return rig;
}

export function cliProcesses(opts: { work: string; databaseUrl: string; qdrantUrl?: string; collection: string }): CliProcesses {
  const procs: Proc[] = [];
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env.PATH!, HOME: opts.work, DATABASE_URL: opts.databaseUrl, ...(opts.qdrantUrl ? { QDRANT_URL: opts.qdrantUrl } : {}),
    BIOVEC_MODEL: fixtureModel('tiny-bert'), BIOVEC_THREADS: '1', BIOVEC_INFERENCE: 'inline', HF_HUB_OFFLINE: '1',
    BIOVEC_CACHE_DIR: join(opts.work, 'cache'), BIOVEC_UPLOADS_DIR: join(opts.work, 'uploads'), BIOVEC_DEFAULT_COLLECTION: opts.collection,
    // Short leases: a killed worker's batch is taken over within seconds.
    BIOVEC_JOB_LEASE_MS: '2000', BIOVEC_LOG_LEVEL: 'warn', ...extra,
  });
  const cli = join(REPO_ROOT, 'src', 'cli.ts');

  const start = (args: string[], ready: string, extraEnv: Record<string, string> = {}): Promise<Proc> => {
    // A data dir of its own unless told: embedded indexes are locked to one process.
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: REPO_ROOT, env: env({ BIOVEC_DATA_DIR: join(opts.work, `data-${procs.length}`), ...extraEnv }) });
    let log = '';
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const proc: Proc = {
      child, log: () => log,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    procs.push(proc);
    child.stdout!.on('data', (d) => (log += d));
    return new Promise((resolve, reject) => {
      child.stderr!.on('data', (d) => {
        log += d;
        if (log.includes(ready)) resolve(proc);
      });
      void exited.then(() => reject(new Error(`${args.join(' ')} exited before it was ready: ${log.slice(-3000)}`)));
    });
  };

  return {
    env,
    start,
    serve: (extraEnv = {}) => start(['serve', '--port', '0'], 'biovec: serving ', extraEnv).then((p) => ({ ...p, url: /serving (http:\/\/\S+)/.exec(p.log())![1]! })),
    worker: (extraEnv = {}) => start(['worker', '--embed', '--poll-ms', '100'], 'biovec worker: embedding batches', extraEnv),
    run: (args, extraEnv = {}) => runTsx(cli, args, { env: env({ BIOVEC_DATA_DIR: join(opts.work, 'data-run'), ...extraEnv }) }),
    killAll: async () => { await Promise.all(procs.map((p) => p.stop('SIGKILL'))); },
  };
}

/** Polls `probe` until it answers something truthy; the bound is generous (the machine is loaded). */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * SIGKILLs `workers[0]` whenever it holds a batch of `jobId` (claimed, not committed) and starts
 * a new one in its place, `times` times or until the job ends; `afterKill` runs after each kill.
 * Returns the kills made and the workers now running.
 */
export async function killWorkerMidBatch(opts: {
  admin: { query(sql: string, params: unknown[]): Promise<{ rows: any[] }> };
  jobId: string;
  workers: Proc[];
  startWorker: () => Promise<Proc>;
  times: number;
  afterKill?: (kills: number) => Promise<void>;
}): Promise<{ kills: number; workers: Proc[] }> {
  let workers = opts.workers;
  let kills = 0;
  while (kills < opts.times) {
    const victim = workers[0]!;
    const pid = victim.child.pid!;
    const holding = await until(`worker ${pid} to hold a batch`, async () => {
      const job = (await opts.admin.query('select status from jobs where id = $1', [opts.jobId])).rows[0];
      if (job.status !== 'running' && job.status !== 'queued') return 'ended';
      const rows = (await opts.admin.query("select id from job_batches where job_id = $1 and status = 'pending' and lease_owner like $2", [opts.jobId, `%:${pid}:%`])).rows;
      return rows.length > 0 && 'holding';
    });
    if (holding === 'ended') break;
    await victim.stop('SIGKILL');
    kills += 1;
    await opts.afterKill?.(kills);
    workers = [await opts.startWorker(), ...workers.slice(1)];
  }
  return { kills, workers };
}
