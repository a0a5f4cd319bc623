import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killWorkerMidBatch, sharedPostgresRig, until } from './helpers/cli-processes.js';
import { REPO_ROOT, fixtureModel } from './helpers/fixtures.js';

/**
 * Issue 16: several processes share one Postgres. Real processes (the CLI, through tsx): two
 * API replicas that plan jobs but embed nothing (BIOVEC_EMBED_BATCHES=0), and two
 * `biovec worker --embed`, one of them SIGKILLed whenever it holds a batch. The vector index
 * is the running Qdrant when QDRANT_URL is set (a unique collection, both replicas applying the
 * outbox); else each replica has its own embedded index and only replica 0 applies the outbox
 * (BIOVEC_APPLY_OUTBOX=false on the other), and the index is checked by reconciling replica 0's.
 */
const DATABASE_URL = process.env.TEST_DATABASE_URL;
const QDRANT_URL = process.env.QDRANT_URL;
const SKIP = !DATABASE_URL ? 'needs TEST_DATABASE_URL (a Postgres the processes share)' : '';
const RECORDS = 5000;

const collection = `mp_${Math.random().toString(36).slice(2, 10)}`;

const abstract = (i: number) => `record ${i}: ${Array.from({ length: 60 }, (_, w) => ['aspirin', 'platelet', 'statin', 'lipid', 'kinase', 'tumour', 'insulin', 'receptor'][(i * 7 + w) % 8]).join(' ')}`;

describe.skipIf(SKIP !== '')(`jobs across processes on one Postgres, ${QDRANT_URL ? 'on Qdrant' : 'on embedded indexes'} ${SKIP ? `(skipped: ${SKIP})` : ''}`, () => {
  const rig = sharedPostgresRig({ prefix: 'biovec-mp-', collection, qdrantUrl: QDRANT_URL, qdrantVersions: [1] });

  it('a starting replica takes over a job whose lease expired, and never touches one another live process holds, nor its upload', async () => {
    const { work, admin, cli } = rig;
    // The schema comes from the first replica's migrations; the jobs are planted before the second starts.
    const first = await cli.serve();
    const [{ id: collectionId }] = (await admin.query('select id from collections where name = $1', [collection])).rows;
    await first.stop();
    const upload = async (key: string) => {
      const file = join(work, 'uploads', key);
      await writeFile(file, [0, 1, 2].map((i) => JSON.stringify({ id: `${key}-${i}`, text: abstract(i) })).join('\n'));
      // Old enough for the orphan sweep: only a job naming it keeps it.
      const old = new Date(Date.now() - 3_600_000);
      await utimes(file, old, old);
      return file;
    };
    await mkdir(join(work, 'uploads'), { recursive: true });
    const heldFile = await upload('held.upload');
    const freeFile = await upload('expired.upload');
    const state = (key: string) => JSON.stringify({ upload: key, format: 'ndjson', mapping: {}, bytes: 1, bytesRead: 0, progress: { cursor: 0 } });
    const insert = 'insert into jobs (collection_id, kind, status, state, lease_owner, lease_expires_at, attempts) values ($1, $2, $3, $4::jsonb, $5, now() + $6::interval, 1) returning id, updated_at';
    const held = (await admin.query(insert, [collectionId, 'import', 'running', state('held.upload'), 'other-host:1:live', '1 hour'])).rows[0];
    const expired = (await admin.query(insert, [collectionId, 'import', 'running', state('expired.upload'), 'other-host:2:dead', '-1 minute'])).rows[0];
    const before = await stat(heldFile);

    const replica = await cli.serve();
    const done = await until('the expired job to complete', async () => {
      const row = (await admin.query('select status, done from jobs where id = $1', [expired.id])).rows[0];
      return row.status === 'completed' && row;
    });
    expect(done.done).toBe(3);
    await expect(stat(freeFile)).rejects.toThrow();
    // The held job: same owner, same lease, no batches, no new attempt; its upload as it was.
    const after = (await admin.query('select status, lease_owner, attempts, updated_at, (select count(*)::int from job_batches where job_id = jobs.id) as batches from jobs where id = $1', [held.id])).rows[0];
    expect(after).toMatchObject({ status: 'running', lease_owner: 'other-host:1:live', attempts: 1, batches: 0 });
    expect(after.updated_at.getTime()).toBe(held.updated_at.getTime());
    expect((await stat(heldFile)).mtimeMs).toBe(before.mtimeMs);
    await replica.stop();
    await admin.query('delete from jobs where id = $1', [held.id]);
  });

  it('imports every record exactly once with two replicas and two embedding workers while one worker is SIGKILLed mid-batch, again and again', async () => {
    const { work, admin, cli } = rig;
    // Without Qdrant each replica's embedded index is its own: only replica 0 applies the outbox.
    const replica0 = join(work, 'replica-0');
    const api = [await cli.serve({ BIOVEC_EMBED_BATCHES: '0', BIOVEC_DATA_DIR: replica0 }), await cli.serve({ BIOVEC_EMBED_BATCHES: '0', ...(QDRANT_URL ? {} : { BIOVEC_APPLY_OUTBOX: 'false' }) })];
    const body = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: `pm${i}`, title: `Abstract ${i}`, text: abstract(i) })).join('\n');
    const accepted = await fetch(`${api[0]!.url}/v1/collections/${collection}/imports?format=ndjson`, { method: 'POST', body });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };

    // Kill the first worker whenever it holds a batch (claimed, not committed), then start a new one.
    const { kills, workers } = await killWorkerMidBatch({ admin, jobId: id, workers: [await cli.worker(), await cli.worker()], startWorker: () => cli.worker(), times: 3 });
    expect(kills).toBe(3);

    // Either replica answers for the job: it lives in the shared catalog.
    const job = await until('the import to finish', async () => {
      const res = (await (await fetch(`${api[1]!.url}/v1/jobs/${id}`)).json()) as { status: string };
      return res.status !== 'running' && res.status !== 'queued' && res;
    });
    expect(job).toMatchObject({ status: 'completed', done: RECORDS, failed: 0, total: RECORDS });

    // The catalog: every record once, none missing; every batch done once, counted once.
    const docs = (await admin.query('select d.external_id, d.chunk_count, (select count(*)::int from chunks c where c.document_id = d.id) as chunks from documents d join collections c on c.id = d.collection_id where c.name = $1 and d.external_id like $2', [collection, 'pm%'])).rows;
    expect(docs).toHaveLength(RECORDS);
    expect(new Set(docs.map((d) => d.external_id))).toEqual(new Set(Array.from({ length: RECORDS }, (_, i) => `pm${i}`)));
    for (const d of docs) expect(d.chunks).toBe(d.chunk_count);
    const batches = (await admin.query('select status, done, attempts, lease_owner from job_batches where job_id = $1', [id])).rows;
    expect(batches.every((b) => b.status === 'done')).toBe(true);
    expect(batches.reduce((n, b) => n + b.done, 0)).toBe(RECORDS);
    // The killed batches were redone by another claim, and both workers took batches.
    expect(batches.filter((b) => b.attempts > 1).length).toBeGreaterThanOrEqual(1);
    expect(new Set(batches.map((b) => b.lease_owner.split(':')[1])).size).toBeGreaterThanOrEqual(2);

    // The index agrees with the catalog once the outbox worker(s) caught up.
    await until('the outbox to drain', async () => (await admin.query('select count(*)::int as n from outbox')).rows[0].n === 0);
    const [{ n: allChunks }] = (await admin.query('select sum(chunk_count)::int as n from documents d join collections c on c.id = d.collection_id where c.name = $1', [collection])).rows;
    if (QDRANT_URL) {
      const points = (await (await fetch(`${QDRANT_URL}/collections/${collection}__v1/points/count`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ exact: true }) })).json()) as { result: { count: number } };
      expect(points.result.count).toBe(allChunks);
    } else {
      // Replica 0's embedded index, reconciled once replica 0 let go of it.
      await api[0]!.stop();
      const rec = await cli.run(['reconcile', '--collection', collection], { BIOVEC_DATA_DIR: replica0 });
      expect(rec.code, rec.stderr).toBe(0);
      expect(JSON.parse(rec.stdout.trim())).toMatchObject({ catalogPoints: allChunks, indexPoints: allChunks, missing: 0, orphans: 0, stale: 0 });
    }
    await Promise.all([...api, ...workers].map((p) => p.stop()));
  });
});

describe('the embedded default (PGlite, one process)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'biovec-embedded-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('resumes an import the server was SIGKILLed in at its next start, without waiting for the dead run\'s leases to expire', async () => {
    const serveEmbedded = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli.ts'), 'serve', '--port', '0'], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH, HOME: dir, BIOVEC_DATA_DIR: join(dir, 'data'), BIOVEC_MODEL: fixtureModel('tiny-bert'), BIOVEC_THREADS: '1', HF_HUB_OFFLINE: '1',
          BIOVEC_CACHE_DIR: join(dir, 'cache'), BIOVEC_LOG_LEVEL: 'warn',
          // Leases that would outlive the test: the restart must not wait for them.
          BIOVEC_JOB_LEASE_MS: '3600000',
        },
      });
      let log = '';
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      return new Promise<{ url: string; kill: (s: NodeJS.Signals) => Promise<void> }>((resolve, reject) => {
        child.stdout!.resume();
        child.stderr!.on('data', (d) => {
          log += d;
          const m = /biovec: serving (http:\/\/\S+)/.exec(log);
          if (m) resolve({ url: m[1]!, kill: async (s) => { child.kill(s); await exited; } });
        });
        void exited.then(() => reject(new Error(`serve exited: ${log.slice(-2000)}`)));
      });
    };
    const first = await serveEmbedded();
    const body = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: `e${i}`, text: abstract(i) })).join('\n');
    const { id } = (await (await fetch(`${first.url}/v1/collections/default/imports?format=ndjson`, { method: 'POST', body })).json()) as { id: string };
    await until('some batches to commit', async () => ((await (await fetch(`${first.url}/v1/jobs/${id}`)).json()) as { done: number }).done > 0);
    await first.kill('SIGKILL');
    const second = await serveEmbedded();
    try {
      const job = await until('the import to finish after the restart', async () => {
        const res = (await (await fetch(`${second.url}/v1/jobs/${id}`)).json()) as { status: string };
        return res.status !== 'running' && res.status !== 'queued' && res;
      }, 600_000);
      expect(job).toMatchObject({ status: 'completed', done: 3000, failed: 0 });
      expect(((await (await fetch(`${second.url}/v1/collections/default`)).json()) as { documents: number }).documents).toBe(3000);
    } finally {
      await second.kill('SIGTERM');
    }
  });
});
