import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, fixtureModel } from './helpers/fixtures.js';
import { runTsx, type Run } from './helpers/run-tsx.js';

let work: string;
const env = () => ({ PATH: process.env.PATH, HOME: work, BIOVEC_DATA_DIR: join(work, 'data'), BIOVEC_CACHE_DIR: join(work, 'cache'), HF_HUB_CACHE: join(work, 'hf'), BIOVEC_THREADS: '1', HF_HUB_OFFLINE: 'true' });
const cli = (args: string[], stdin?: string): Promise<Run> => runTsx(join(REPO_ROOT, 'src', 'cli.ts'), args, { stdin, env: env() });
const lines = (r: Run) => r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'biovec-cli-versions-'));
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('biovec versions (embedded stores)', () => {
  it('re-indexes into another model, lists, switches back and drops, with reconcile clean on both versions', async () => {
    const records = ['BRCA1 and breast cancer', 'Metformin and AMPK', 'Statins lower LDL'].map((text, i) => JSON.stringify({ id: `d${i}`, text })).join('\n');
    const ingest = await cli(['ingest', '--model', fixtureModel('tiny-bert'), '--format', 'ndjson', '-c', 'papers'], records);
    expect(ingest.code, ingest.stderr).toBe(0);

    const created = await cli(['versions', 'create', '--collection', 'papers', '--model', fixtureModel('tiny-roberta')]);
    expect(created.code, created.stderr).toBe(0);
    expect(lines(created)[0]).toMatchObject({ version: 2, model: { id: fixtureModel('tiny-roberta') } });
    expect(created.stderr).toContain('completed');

    const listed = await cli(['versions', 'list', '--collection', 'papers']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(lines(listed).map((v) => [v.version, v.status, v.current])).toEqual([[1, 'ready', false], [2, 'ready', true]]);
    for (const v of ['1', '2']) {
      const rec = await cli(['reconcile', '--collection', 'papers', '--at-version', v]);
      expect(rec.code, rec.stderr).toBe(0);
      expect(lines(rec)[0]).toMatchObject({ version: Number(v), catalogPoints: 3, missing: 0, orphans: 0, stale: 0 });
    }

    const back = await cli(['versions', 'switch', '1', '--collection', 'papers']);
    expect(back.code, back.stderr).toBe(0);
    expect(lines(back)[0]).toEqual({ collection: 'papers', version: 1, stale: 0, job_id: null });
    const dropped = await cli(['versions', 'drop', '2', '--collection', 'papers']);
    expect(dropped.code, dropped.stderr).toBe(0);
    const current = await cli(['versions', 'drop', '1', '--collection', 'papers']);
    expect(current.code).not.toBe(0);
    expect(current.stderr).toContain('current version');
  }, 300_000);
});
