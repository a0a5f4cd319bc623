import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolRow } from '../src/embedding/pooling.js';
import { REPO_ROOT, fixtureModel, maxAbsDiff, readReference } from './helpers/fixtures.js';
import { HubServer } from './helpers/hub-server.js';
import { runTsx, type Run } from './helpers/run-tsx.js';

let work: string;
const baseEnv = () => ({ PATH: process.env.PATH, HOME: work, BIOVEC_CACHE_DIR: join(work, 'cache'), HF_HUB_CACHE: join(work, 'hf'), BIOVEC_THREADS: '1' });

/** Runs the real CLI entry point (from source, through tsx) as a user would. */
function cli(args: string[], opts: { stdin?: string | Buffer; env?: Record<string, string | undefined> } = {}): Promise<Run> {
  return runTsx(join(REPO_ROOT, 'src', 'cli.ts'), args, { stdin: opts.stdin, env: { ...baseEnv(), ...opts.env } });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'biovec-cli-'));
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('biovec embed', () => {
  const model = ['--model', fixtureModel('tiny-roberta')];

  it('embeds lines from stdin to JSONL, with transformers\' CLS vectors', async () => {
    const ref = await readReference(fixtureModel('tiny-roberta'));
    const res = await cli(['embed', ...model], { stdin: `${ref.texts[0]}\n${ref.texts[2]}\n` });
    expect(res.code, res.stderr).toBe(0);
    const rows = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; embedding: number[]; tokens: number; dropped_tokens: number });
    expect(rows.map((r) => r.index)).toEqual([0, 1]);
    [0, 2].forEach((refRow, i) => {
      let length = 0;
      for (let t = 0; t < ref.sequence; t++) length += Number(ref.attentionMask[refRow * ref.sequence + t]);
      const want = poolRow({ hidden: ref.hidden, row: refRow, sequence: ref.sequence, hiddenSize: ref.hiddenSize, length, pooling: 'cls' });
      expect(maxAbsDiff(rows[i]!.embedding, want)).toBeLessThan(1e-4);
      expect(rows[i]!.tokens).toBe(length);
      expect(rows[i]!.dropped_tokens).toBe(0);
    });
  });

  it('reads JSONL with ids from a file and writes to --output', async () => {
    const input = join(work, 'docs.jsonl');
    await writeFile(input, `${JSON.stringify({ id: 'PMID:1', text: 'Aspirin inhibits COX.' })}\n${JSON.stringify({ id: 7, text: 'BRCA1 and breast cancer' })}\n`);
    const res = await cli(['embed', input, '-o', join(work, 'out.jsonl'), ...model]);
    expect(res.code, res.stderr).toBe(0);
    const rows = (await readFile(join(work, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r: { id: unknown }) => r.id)).toEqual(['PMID:1', 7]);
    expect(rows[0].embedding).toHaveLength(32);
  });

  it('names the line of bad input and exits 2', async () => {
    const invalid = await cli(['embed', ...model], { stdin: Buffer.concat([Buffer.from('fine\n'), Buffer.from([0xc3, 0x28, 0x0a])]) });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('line 2 is not valid UTF-8');
    const empty = await cli(['embed', ...model], { stdin: 'one\n\nthree\n' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('line 2 is empty');
    const json = await cli(['embed', '--format', 'jsonl', ...model], { stdin: '{"text": "ok"}\n{"title": "no text"}\n' });
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('line 2: field "text" must be a string');
  });

  it('refuses a wrong setting, naming it, before loading anything', async () => {
    const res = await cli(['embed', ...model], { env: { BIOVEC_POOLING: 'max' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/BIOVEC_POOLING \/ --pooling/);
  });

  it('explains a missing model directory', async () => {
    const res = await cli(['embed', '--model', './no-such-model'], { stdin: 'x\n' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/model directory .*no-such-model does not exist/);
  });
});

describe('biovec run (Ersilia format)', () => {
  it('writes key,input,dim_000.. with the MD5 key, in input order', async () => {
    const input = join(work, 'in.csv');
    const texts = ['Aspirin inhibits COX.', 'TNF-α, IL-6 and "quoted" text', 'BRCA1'];
    await writeFile(input, `input\n${texts.map((t) => (t.includes('"') || t.includes(',') ? `"${t.replaceAll('"', '""')}"` : t)).join('\n')}\n`);
    const res = await cli(['run', '-i', input, '-o', join(work, 'out.csv'), '--model', fixtureModel('tiny-bert')]);
    expect(res.code, res.stderr).toBe(0);
    const rows = parse(await readFile(join(work, 'out.csv')), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['key', 'input', ...Array.from({ length: 32 }, (_, i) => `dim_${String(i).padStart(3, '0')}`)]);
    expect(rows.map((r) => r.input)).toEqual(texts);
    expect(rows[0]!.key).toBe(createHash('md5').update(texts[0]!).digest('hex'));
    const embedded = await cli(['embed', '--model', fixtureModel('tiny-bert')], { stdin: `${texts[1]}\n` });
    const vector = (JSON.parse(embedded.stdout) as { embedding: number[] }).embedding;
    expect(maxAbsDiff(vector, Array.from({ length: 32 }, (_, i) => Number(rows[1]![`dim_${String(i).padStart(3, '0')}`])))).toBe(0);
  });

  it('names the missing input column', async () => {
    const input = join(work, 'bad.csv');
    await writeFile(input, 'smiles,text\nCCO,ethanol\n');
    const res = await cli(['run', '-i', input, '-o', join(work, 'bad-out.csv'), '--model', fixtureModel('tiny-bert')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('has no "input" column (columns: smiles, text); pass --column');
  });
});

describe('biovec model', () => {
  let hub: HubServer;
  beforeAll(async () => {
    hub = await new HubServer({ 'allenai/tiny-roberta': { dir: fixtureModel('tiny-roberta') } }).start();
  });
  afterAll(async () => hub.stop());

  it('pull downloads from HF_ENDPOINT and converts; info then works offline', async () => {
    const pulled = await cli(['model', 'pull', 'allenai/tiny-roberta'], { env: { HF_ENDPOINT: hub.url } });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ model: 'allenai/tiny-roberta', revision: hub.commitOf('allenai/tiny-roberta'), dims: 32, pooling: 'cls', weights: 'safetensors', tokenizer: 'bpe' });
    const info = await cli(['model', 'info', '--model', 'allenai/tiny-roberta'], { env: { HF_HUB_OFFLINE: '1' } });
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ max_tokens: 128, architecture: 'roberta' });
  });

  it('offline with an empty cache says what to do', async () => {
    const res = await cli(['model', 'info', '--model', 'allenai/never-pulled'], { env: { HF_HUB_OFFLINE: '1' } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/not in the cache .*biovec model pull allenai\/never-pulled/);
  });

  it('--help lists every setting with its env var', async () => {
    const res = await cli(['--help']);
    expect(res.stdout).toContain('--max-batch-tokens <value>');
    expect(res.stdout).toContain('[env HF_TOKEN]');
    expect(res.stdout).toMatch(/embed .*\n/);
  });
});

describe('biovec ingest / search / export / reconcile on the embedded defaults', () => {
  const model = ['--model', fixtureModel('tiny-roberta')];
  let dataDir: string;
  beforeAll(() => {
    dataDir = join(work, 'data');
  });

  it('ingests NDJSON, searches it, exports it, and finds no drift', async () => {
    const input = join(work, 'papers.jsonl');
    await writeFile(input, [
      { id: 'p1', title: 'Aspirin and platelets', text: 'Aspirin irreversibly inhibits cyclooxygenase in platelets.', labels: ['pharma'] },
      { id: 'p2', title: 'BRCA1', text: 'Germline BRCA1 mutations raise breast cancer risk.', labels: ['oncology'] },
      { text: 'a record without id' },
    ].map((r) => JSON.stringify(r)).join('\n'));
    const ingested = await cli(['ingest', input, '--data-dir', dataDir, ...model]);
    expect(ingested.code, ingested.stderr).toBe(0);
    expect(JSON.parse(ingested.stdout)).toMatchObject({ collection: 'default', done: 2, failed: 1, created: 2, errors: 1, outbox_pending: 0 });
    expect(ingested.stderr).toContain('record 3 skipped');

    const found = await cli(['search', 'Aspirin and platelets Aspirin irreversibly inhibits cyclooxygenase in platelets.', '--json', '--data-dir', dataDir, ...model]);
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).results[0]).toMatchObject({ id: 'p1', labels: ['pharma'] });
    const table = await cli(['search', 'breast cancer', '-k', '2', '--labels', 'oncology', '--data-dir', dataDir, ...model]);
    expect(table.stdout).toMatch(/#\s+score\s+id\s+title\n\s+1\s+\S+\s+p2\s+BRCA1/);

    const out = join(work, 'vectors.csv');
    const exported = await cli(['export', '-o', out, '--data-dir', dataDir]);
    expect(exported.code, exported.stderr).toBe(0);
    const rows = parse(await readFile(out), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.key).sort()).toEqual(['p1', 'p2']);
    expect(Object.keys(rows[0]!)).toContain('dim_031');

    const reconciled = await cli(['reconcile', '--data-dir', dataDir]);
    expect(reconciled.code, reconciled.stderr).toBe(0);
    expect(JSON.parse(reconciled.stdout)).toMatchObject({ collection: 'default', missing: 0, orphans: 0, stale: 0 });
  });

  it('says which collection is missing', async () => {
    const res = await cli(['export', '-o', join(work, 'x.csv'), '--collection', 'nope', '--data-dir', dataDir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('collection nope not found');
  });
});

describe('biovec eval retrieval / probe (tiny RoBERTa: the plumbing; real figures come from test/real-models.test.ts)', () => {
  const model = ['--model', fixtureModel('tiny-roberta')];
  let dataDir: string;
  beforeAll(() => {
    dataDir = join(work, 'eval-data');
  });

  it('scores a BEIR dataset and writes a TREC run', async () => {
    const beir = join(work, 'beir');
    await mkdir(join(beir, 'qrels'), { recursive: true });
    const docs = ['Aspirin inhibits cyclooxygenase in platelets.', 'BRCA1 mutations raise breast cancer risk.', 'Metformin lowers hepatic glucose output.'];
    await writeFile(join(beir, 'corpus.jsonl'), docs.map((text, i) => JSON.stringify({ _id: `d${i}`, title: '', text })).join('\n'));
    await writeFile(join(beir, 'queries.jsonl'), docs.map((text, i) => JSON.stringify({ _id: `q${i}`, text })).join('\n'));
    await writeFile(join(beir, 'qrels', 'test.tsv'), `query-id\tcorpus-id\tscore\n${docs.map((_, i) => `q${i}\td${i}\t1`).join('\n')}\n`);
    const runFile = join(work, 'run.trec');
    const res = await cli(['eval', 'retrieval', '--dataset', beir, '--json', '--trec-run', runFile, '--data-dir', dataDir, ...model]);
    expect(res.code, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(r).toMatchObject({ collection: 'eval-beir', docs: 3, queries: 3, split: 'test', model: { dims: 32, pooling: 'cls', prompts: { query: '', document: '' } } });
    // A query identical to its document finds it first, whatever the (random) weights.
    expect(r).toMatchObject({ mrr_at_10: 1, ndcg_at_10: 1, recall_at_100: 1 });
    const run = (await readFile(runFile, 'utf8')).trim().split('\n');
    expect(run).toHaveLength(9);
    expect(run.filter((l) => / 1 [-\d.e]+ biovec$/.test(l)).map((l) => l.split(' ').slice(0, 3).join(' ')).sort()).toEqual(['q0 Q0 d0', 'q1 Q0 d1', 'q2 Q0 d2']);
    const table = await cli(['eval', 'retrieval', '--dataset', beir, '--reuse', '--data-dir', dataDir, ...model]);
    expect(table.stdout).toMatch(/nDCG@10\s+1\.0000/);
    const missing = await cli(['eval', 'retrieval', '--dataset', join(work, 'nope'), '--data-dir', dataDir, ...model]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/is not a BEIR dataset: no corpus/);
  });

  it('ingests unlabelled-id data by record number and cross-validates a probe on a label', async () => {
    const input = join(work, 'relations.jsonl');
    const rows = Array.from({ length: 24 }, (_, i) => ({ text: i % 2 ? `gefitinib inhibits EGFR variant ${i}` : `CYP3A4 metabolises midazolam batch ${i}`, label: i % 2 ? 'INHIBITOR' : 'SUBSTRATE' }));
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const ingested = await cli(['ingest', input, '-c', 'rel', '--labels-field', 'label', '--id-from', 'record', '--data-dir', dataDir, ...model]);
    expect(ingested.code, ingested.stderr).toBe(0);
    expect(JSON.parse(ingested.stdout)).toMatchObject({ done: 24, failed: 0 });
    const res = await cli(['eval', 'probe', '-c', 'rel', '--label', 'labels', '--folds', '3', '--json', '--data-dir', dataDir]);
    expect(res.code, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout) as { rows: number; classes: unknown; folds: { testSize: number }[]; majority_accuracy: number; overall: { accuracy: number } };
    expect(r).toMatchObject({ rows: 24, classes: [{ label: 'INHIBITOR', count: 12 }, { label: 'SUBSTRATE', count: 12 }], majority_accuracy: 0.5 });
    expect(r.folds.map((f) => f.testSize)).toEqual([8, 8, 8]);
    expect(r.overall.accuracy).toBeGreaterThanOrEqual(0);
    const table = await cli(['eval', 'probe', '-c', 'rel', '--label', 'labels', '--folds', '3', '--data-dir', dataDir]);
    expect(table.stdout).toMatch(/fold\s+train\s+test\s+accuracy[\s\S]*overall/);
    const bad = await cli(['eval', 'probe', '-c', 'rel', '--label', 'labels', '--folds', '1', '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--folds must be an integer of at least 2');
    const none = await cli(['eval', 'probe', '-c', 'rel', '--label', 'metadata.nothing', '--data-dir', dataDir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no document of collection rel has a single value for metadata.nothing');

    // A fixed split: fit on one collection, score on another embedded the same way.
    await cli(['ingest', input, '-c', 'rel-test', '--labels-field', 'label', '--id-from', 'record', '--data-dir', dataDir, ...model]);
    const holdout = await cli(['eval', 'probe', '-c', 'rel', '--test-collection', 'rel-test', '--label', 'labels', '--json', '--data-dir', dataDir]);
    expect(holdout.code, holdout.stderr).toBe(0);
    expect(JSON.parse(holdout.stdout)).toMatchObject({ train_rows: 24, test_rows: 24, unseen_test_rows: 0, classes: [{ label: 'INHIBITOR', train: 12, test: 12 }, { label: 'SUBSTRATE', train: 12, test: 12 }], test: { accuracy: expect.any(Number) } });
    await cli(['ingest', input, '-c', 'rel-bert', '--labels-field', 'label', '--id-from', 'record', '--data-dir', dataDir, '--model', fixtureModel('tiny-bert')]);
    const mixed = await cli(['eval', 'probe', '-c', 'rel', '--test-collection', 'rel-bert', '--label', 'labels', '--data-dir', dataDir]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('collections rel and rel-bert hold vectors of different model configurations');
  });
});

describe('biovec keys', () => {
  it('creates a key (token printed once), lists it without its secret, and revokes it', async () => {
    const dataDir = join(work, 'keys');
    const created = await cli(['keys', 'create', '--scope', 'write', '--name', 'lab', '--data-dir', dataDir]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^bv_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    const listed = await cli(['keys', 'list', '--data-dir', dataDir]);
    expect(JSON.parse(listed.stdout)).toMatchObject({ id: 1, prefix: token.slice(3, 11), name: 'lab', scope: 'write', revoked_at: null });
    expect(listed.stdout).not.toContain(token.slice(12));
    expect((await cli(['keys', 'revoke', token.slice(3, 11), '--data-dir', dataDir])).code).toBe(0);
    expect(JSON.parse((await cli(['keys', 'list', '--data-dir', dataDir])).stdout).revoked_at).not.toBeNull();
    const bad = await cli(['keys', 'create', '--scope', 'root', '--data-dir', dataDir]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/root/);
  });
});
