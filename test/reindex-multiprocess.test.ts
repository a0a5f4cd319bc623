import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { killWorkerMidBatch, sharedPostgresRig, until } from './helpers/cli-processes.js';
import { fixtureModel } from './helpers/fixtures.js';

/**
 * Issue 16, re-index half: two API replicas and two `biovec worker --embed` on one Postgres; a
 * re-index from tiny-bert to tiny-roberta completes with every document embedded exactly once
 * at the new version while one worker is SIGKILLed mid-batch, again and again; searches
 * meanwhile always embed the query with the model of the version they read. The index is the
 * running Qdrant when QDRANT_URL is set; else replica 0's embedded index, the only replica that
 * applies the outbox (BIOVEC_APPLY_OUTBOX=false on the other), and the one searches go to.
 */
const DATABASE_URL = process.env.TEST_DATABASE_URL;
const QDRANT_URL = process.env.QDRANT_URL;
const SKIP = !DATABASE_URL ? 'needs TEST_DATABASE_URL (a Postgres the processes share)' : '';
const DOCS = 3000;

const collection = `rx_${Math.random().toString(36).slice(2, 10)}`;

const WORDS = ['aspirin', 'platelet', 'statin', 'lipid', 'kinase', 'tumour', 'insulin', 'receptor', 'cytokine', 'neuron'];
const abstract = (i: number) => `record ${i}: ${Array.from({ length: 40 }, (_, w) => WORDS[(i * 7 + w * 3) % WORDS.length]).join(' ')}`;

describe.skipIf(SKIP !== '')(`a re-index across processes on one Postgres, ${QDRANT_URL ? 'on Qdrant' : 'on embedded indexes'} ${SKIP ? `(skipped: ${SKIP})` : ''}`, () => {
  const rig = sharedPostgresRig({ prefix: 'biovec-rx-', collection, qdrantUrl: QDRANT_URL, qdrantVersions: [1, 2] });

  it('embeds every document exactly once into the new version while a worker is SIGKILLed mid-batch, then switches', async () => {
    const { work, admin, cli } = rig;
    const replica0 = join(work, 'replica-0');
    const api = [await cli.serve({ BIOVEC_EMBED_BATCHES: '0', BIOVEC_DATA_DIR: replica0 }), await cli.serve({ BIOVEC_EMBED_BATCHES: '0', ...(QDRANT_URL ? {} : { BIOVEC_APPLY_OUTBOX: 'false' }) })];
    // Searches go to a replica whose index is the one written: either on Qdrant, replica 0 else.
    const searcher = QDRANT_URL ? api[1]! : api[0]!;
    for (let i = 0; i < DOCS; i += 500) {
      const res = await fetch(`${api[i % 2]!.url}/v1/collections/${collection}/documents`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: 500 }, (_, k) => ({ id: `doc${i + k}`, text: abstract(i + k) }))),
      });
      expect(res.status).toBe(200);
    }
    const started = [await cli.worker(), await cli.worker()];
    const accepted = await fetch(`${api[0]!.url}/v1/collections/${collection}/versions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: fixtureModel('tiny-roberta') }) });
    expect(accepted.status).toBe(202);
    const { job } = (await accepted.json()) as { job: { id: string } };

    /** A search for a document's own text scores 1 only when its query was embedded with the model of the version searched. */
    const searchScore = async (i: number) => {
      const res = await fetch(`${searcher.url}/v1/collections/${collection}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: abstract(i), k: 1, mode: 'dense' }) });
      expect(res.status).toBe(200);
      const [hit] = ((await res.json()) as { results: { id: string; score: number }[] }).results;
      return hit!;
    };

    const { kills, workers } = await killWorkerMidBatch({
      admin, jobId: job.id, workers: started, startWorker: () => cli.worker(), times: 3,
      afterKill: async (n) => {
        // Mid re-index the collection still reads version 1, and queries are embedded with tiny-bert.
        // (The tiny fixtures' vocabularies map most words to one token: several documents may tie at 1.)
        const hit = await searchScore(n * 17);
        expect(hit.score).toBeCloseTo(1, 4);
      },
    });
    expect(kills).toBe(3);

    const ended = await until('the re-index to finish', async () => {
      const row = (await admin.query('select status, state from jobs where id = $1', [job.id])).rows[0];
      return row.status !== 'running' && row.status !== 'queued' && row;
    });
    expect(ended.status, JSON.stringify(ended.state)).toBe('completed');
    const [current] = (await admin.query('select version, index_name, model_id from collections where name = $1', [collection])).rows;
    expect(current).toEqual({ version: 2, index_name: `${collection}__v2`, model_id: fixtureModel('tiny-roberta') });

    // Every document once at version 2, from its present text, chunk indexes without gaps.
    const perDoc = (await admin.query(
      `select d.external_id, count(c.*)::int as n, max(c.chunk_index)::int as last, bool_and(c.content_hash = d.content_hash) as fresh
       from documents d join collections k on k.id = d.collection_id left join chunks c on c.document_id = d.id and c.version = 2
       where k.name = $1 group by d.external_id`, [collection])).rows;
    expect(perDoc).toHaveLength(DOCS);
    for (const d of perDoc) expect(d.n > 0 && d.last === d.n - 1 && d.fresh, JSON.stringify(d)).toBe(true);
    // Version 1 kept as it was, for switching back.
    const [{ n: v1 }] = (await admin.query('select count(distinct document_id)::int as n from chunks where version = 1')).rows;
    expect(v1).toBe(DOCS);
    const batches = (await admin.query('select status, attempts from job_batches where job_id = $1', [job.id])).rows;
    expect(batches.every((b) => b.status === 'done')).toBe(true);
    expect(batches.filter((b) => b.attempts > 1).length).toBeGreaterThanOrEqual(1);

    await until('the outbox to drain', async () => (await admin.query('select count(*)::int as n from outbox')).rows[0].n === 0);
    const [{ n: v2chunks }] = (await admin.query('select count(*)::int as n from chunks where version = 2')).rows;
    const [{ n: v1chunks }] = (await admin.query('select count(*)::int as n from chunks where version = 1')).rows;
    // After the switch, queries are embedded with tiny-roberta.
    const hit = await searchScore(5);
    expect(hit.score).toBeCloseTo(1, 4);
    if (QDRANT_URL) {
      const count = async (name: string) => ((await (await fetch(`${QDRANT_URL}/collections/${name}/points/count`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ exact: true }) })).json()) as { result: { count: number } }).result.count;
      expect(await count(`${collection}__v2`)).toBe(v2chunks);
      expect(await count(collection)).toBe(v2chunks); // the alias follows the switch
    }
    // reconcile is clean on both versions (the old one kept for switching back): on Qdrant from
    // any data dir, on embedded indexes from replica 0's, once it let go of it.
    await Promise.all([...api, ...workers].map((p) => p.stop()));
    for (const version of ['1', '2']) {
      const rec = await cli.run(['reconcile', '--collection', collection, '--at-version', version], QDRANT_URL ? {} : { BIOVEC_DATA_DIR: replica0 });
      expect(rec.code, rec.stderr).toBe(0);
      const points = version === '2' ? v2chunks : v1chunks;
      expect(JSON.parse(rec.stdout.trim())).toMatchObject({ version: Number(version), catalogPoints: points, indexPoints: points, missing: 0, orphans: 0, stale: 0 });
    }
  }, 900_000);
});
