import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { EXIT_CODES } from '../src/cli/exit-codes.js';
import { poolRow } from '../src/embedding/pooling.js';
import { REPO_ROOT, fixtureModel, maxAbsDiff, readReference } from './helpers/fixtures.js';
import { openTestDatabase } from './helpers/database.js';
import { HubServer } from './helpers/hub-server.js';
import { runTsx, type Run } from './helpers/run-tsx.js';

let work: string;
const baseEnv = () => ({ PATH: process.env.PATH, HOME: work, BIOVEC_CACHE_DIR: join(work, 'cache'), HF_HUB_CACHE: join(work, 'hf'), BIOVEC_THREADS: '1' });

/** Runs the real CLI entry point (from source, through tsx) as a user would. */
function cli(args: string[], opts: { stdin?: string | Buffer; env?: Record<string, string | undefined> } = {}): Promise<Run> {
  return runTsx(join(REPO_ROOT, 'src', 'cli.ts'), args, { stdin: opts.stdin, env: { ...baseEnv(), ...opts.env } });
}

interface Served {
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `biovec serve` as its own process and resolves once it says it is serving. */
function serveCli(args: string[], env: Record<string, string | undefined> = {}): Promise<Served> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli.ts'), 'serve', '--port', '0', ...args], { cwd: REPO_ROOT, env: { ...baseEnv(), ...env } });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (stderr.includes('biovec: serving ')) resolve({ child, stderr: () => stderr, stop });
    });
    child.stdout!.resume();
    void exited.then(() => reject(new Error(`serve exited before serving: ${stderr}`)));
  });
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

  it('offline with an empty cache says why and the next steps that work', async () => {
    const res = await cli(['model', 'info', '--model', 'allenai/never-pulled'], { env: { HF_HUB_OFFLINE: '1' } });
    expect(res.code).toBe(EXIT_CODES.environment);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/HF_HUB_OFFLINE is set, and allenai\/never-pulled@main is not in the cache .*biovec model pull allenai\/never-pulled.*HF_ENDPOINT=<url> for a mirror.*--model DIR/);
  });

  it('an unreachable hub with an empty cache gives the network\'s reason and the next steps, not "set HF_HUB_OFFLINE"', async () => {
    // A port that was free a moment ago: nothing listens, so the connection is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const res = await cli(['model', 'info', '--model', 'allenai/never-pulled'], { env: { HF_ENDPOINT: `http://127.0.0.1:${port}` } });
    expect(res.code).toBe(EXIT_CODES.environment);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(`cannot reach http://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}), and`);
    expect(res.stderr).toMatch(/, and allenai\/never-pulled@main is not in the cache .*biovec model pull allenai\/never-pulled.*HF_ENDPOINT.*--model DIR/);
    expect(res.stderr).not.toContain('HF_HUB_OFFLINE');
  });

  it('serve shows the download of each file and the conversion (plain lines off a terminal)', async () => {
    const fresh = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(work, 'serve-hf'), BIOVEC_CACHE_DIR: join(work, 'serve-cache') };
    const server = await serveCli(['--model', 'allenai/tiny-roberta', '--data-dir', join(work, 'serve-progress')], fresh);
    await server.stop();
    const lines = server.stderr().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^biovec: downloading config\.json: done, \d+ B of \d+ B \(100%\)/));
    expect(lines).toContainEqual(expect.stringMatching(/^biovec: downloading model\.safetensors: done, [\d.]+ [KM]?B of [\d.]+ [KM]?B \(100%\)/));
    const converting = lines.findIndex((l) => /^biovec: converting .*model\.safetensors to ONNX/.test(l));
    expect(converting).toBeGreaterThan(lines.findIndex((l) => l.includes('downloading model.safetensors')));
    expect(converting).toBeLessThan(lines.findIndex((l) => l.startsWith('biovec: serving ')));
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
    expect(table.stdout).toMatch(/#\s+score\s+legs\s+id\s+title\s+\(hybrid\)\n\s+1\s+\S+\s+[dl\d ]+\s+p2\s+BRCA1/);
    const lexical = await cli(['search', 'BRCA1', '--mode', 'lexical', '--json', '--data-dir', dataDir, ...model]);
    expect(lexical.code, lexical.stderr).toBe(0);
    expect(JSON.parse(lexical.stdout)).toMatchObject({ mode: 'lexical', results: [{ id: 'p2', legs: { lexical: { rank: 1 } } }] });
    expect(JSON.parse(lexical.stdout).results).toHaveLength(1);
    const dense = await cli(['search', 'breast cancer', '--mode', 'dense', '-k', '1', '--json', '--data-dir', dataDir, ...model]);
    expect(JSON.parse(dense.stdout)).toMatchObject({ mode: 'dense', results: [{ legs: { dense: { rank: 1 } } }] });

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
    // Every mode over the same collection (reused: nothing embedded again), one TREC run each.
    const modes = await cli(['eval', 'retrieval', '--dataset', beir, '--reuse', '--json', '--mode', 'dense,lexical,hybrid', '--fusion', 'rrf', '--rrf-k', '10', '--trec-run', runFile, '--data-dir', dataDir, ...model]);
    expect(modes.code, modes.stderr).toBe(0);
    const m = JSON.parse(modes.stdout) as { mode: string; modes: Record<string, { ndcg_at_10: number; recall_at_100: number; mrr_at_10: number }> };
    expect(m.mode).toBe('dense');
    expect(Object.keys(m.modes)).toEqual(['dense', 'lexical', 'hybrid']);
    for (const scores of Object.values(m.modes)) expect(scores).toMatchObject({ ndcg_at_10: 1, recall_at_100: 1, mrr_at_10: 1 });
    for (const mode of ['dense', 'lexical', 'hybrid']) {
      const lines = (await readFile(`${runFile}.${mode}`, 'utf8')).trim().split('\n');
      expect(lines.filter((l) => l.endsWith(` biovec-${mode}`)).length).toBe(lines.length);
      expect(lines.filter((l) => l.split(' ')[3] === '1').map((l) => l.split(' ').slice(0, 3).join(' ')).sort()).toEqual(['q0 Q0 d0', 'q1 Q0 d1', 'q2 Q0 d2']);
    }
    expect((await cli(['eval', 'retrieval', '--dataset', beir, '--reuse', '--mode', 'bm25', '--data-dir', dataDir, ...model])).stderr).toMatch(/--mode takes dense, lexical/);
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

describe('exit codes: one line and one code per kind of failure', () => {
  const model = ['--model', fixtureModel('tiny-roberta')];
  const oneLine = (stderr: string) => stderr.trim().split('\n');

  it('a missing input file is a usage error (2), said in one line, for embed, run -i and ingest', async () => {
    const missing = join(work, 'no-such-input.jsonl');
    for (const args of [['embed', missing], ['run', '-i', missing, '-o', join(work, 'never.csv')], ['ingest', missing, '--data-dir', join(work, 'never-data')]]) {
      const res = await cli([...args, ...model]);
      expect(res.code, `${args[0]}: ${res.stderr}`).toBe(EXIT_CODES.usage);
      expect(oneLine(res.stderr)).toEqual([`biovec: input file ${missing} does not exist`]);
    }
    const dir = await cli(['embed', work, ...model]);
    expect(dir.code).toBe(2);
    expect(oneLine(dir.stderr)).toEqual([`biovec: input file ${work} is a directory, not a file`]);
  });

  it('an unknown option or command is a usage error (2); help and version exit 0', async () => {
    const option = await cli(['embed', '--no-such-flag']);
    expect(option.code).toBe(EXIT_CODES.usage);
    expect(option.stderr).toContain("unknown option '--no-such-flag'");
    const command = await cli(['frobnicate']);
    expect(command.code).toBe(EXIT_CODES.usage);
    expect(command.stderr).toContain("unknown command 'frobnicate'");
    const missingArg = await cli(['run', '-o', join(work, 'x.csv')]);
    expect(missingArg.code).toBe(EXIT_CODES.usage);
    expect(missingArg.stderr).toContain("required option '-i, --input <file>' not specified");
    expect((await cli(['--version'])).code).toBe(0);
  });

  it('a model that is not there is the environment (1), in one line', async () => {
    const res = await cli(['embed', '--model', join(work, 'no-such-model')], { stdin: 'x\n' });
    expect(res.code).toBe(EXIT_CODES.environment);
    expect(oneLine(res.stderr)).toHaveLength(1);
  });

  it('an output file in a missing directory is a usage error (2), in one line, not a stack', async () => {
    const out = join(work, 'no-such-dir', 'out.csv');
    const input = join(work, 'one.csv');
    await writeFile(input, 'input\nx\n');
    for (const args of [['embed', '-o', out], ['run', '-i', input, '-o', out], ['export', '-o', out, '--data-dir', join(work, 'never-data')]]) {
      const res = await cli([...args, ...model], { stdin: 'x\n' });
      expect(res.code, `${args[0]}: ${res.stderr}`).toBe(EXIT_CODES.usage);
      expect(oneLine(res.stderr)).toEqual([`biovec: cannot write ${out}: directory ${join(work, 'no-such-dir')} does not exist`]);
    }
  });

  it('biovec --help prints the exit-code table', async () => {
    const res = await cli(['--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Exit codes:\n\s+0\s+success\n\s+1\s+environment[\s\S]*\n\s+2\s+usage or input[\s\S]*\n\s+3\s+reconcile found drift/);
  });
});

describe('biovec <command> --help', () => {
  const walk = (command: Command): Command[] => [command, ...command.commands.flatMap(walk)];

  it('every option of every command has a description, and each command\'s help lists its own options and the settings', () => {
    const program = buildProgram({});
    for (const command of walk(program)) {
      const help = command.helpInformation();
      for (const option of command.options) {
        expect(option.description.replace(/\[env \w+\]/, '').trim(), `${command.name()} ${option.flags}`).not.toBe('');
        expect(help, `${command.name()} --help`).toContain(option.flags);
      }
      if (command !== program) expect(help, `${command.name()} --help`).toContain('--max-batch-tokens <value>');
    }
  });

  it('serve --help shows the settings serve reads, with their env vars', async () => {
    const res = await cli(['serve', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--port <value>\s+HTTP port \[env BIOVEC_PORT\]/);
    expect(res.stdout).toContain('--data-dir <value>');
  });
});

describe('the CLI beside a running server (embedded defaults)', () => {
  const tiny = fixtureModel('tiny-roberta');
  let dataDir: string;
  let server: Served;
  beforeAll(async () => {
    dataDir = join(work, 'served-data');
    server = await serveCli(['--data-dir', dataDir, '--model', tiny]);
  });
  afterAll(async () => server?.stop());

  it('ingest, search, export and a second serve name the server and its pid before loading any model', async () => {
    const input = join(work, 'served.jsonl');
    await writeFile(input, `${JSON.stringify({ id: 'a', text: 'Aspirin' })}\n`);
    // A model that does not exist: the lock must be noticed first, or this would fail on the model.
    const noModel = ['--model', join(work, 'no-such-model')];
    const want = `biovec: a biovec server (pid ${server.child.pid}) holds the embedded index at ${join(dataDir, 'index')}; stop it or use the API`;
    for (const args of [['ingest', input], ['search', 'aspirin'], ['export', '-o', join(work, 'served.csv')], ['serve']]) {
      const res = await cli([...args, '--data-dir', dataDir, ...noModel]);
      expect(res.code, `${args[0]}: ${res.stderr}`).toBe(EXIT_CODES.environment);
      expect(res.stderr, args[0]).toContain(want);
      expect(res.stderr.trim().split('\n'), args[0]).toHaveLength(1);
    }
  });

  it('keys says that the PGlite catalog is the server\'s while it runs, and what to do', async () => {
    const res = await cli(['keys', 'list', '--data-dir', dataDir]);
    expect(res.code).toBe(EXIT_CODES.environment);
    expect(res.stderr).toContain(`biovec: a biovec server (pid ${server.child.pid}) holds the embedded catalog at ${join(dataDir, 'catalog')} (PGlite: one process at a time); stop it, or use Postgres (DATABASE_URL)`);
  });

  it.runIf(process.env.TEST_DATABASE_URL)('keys work while a server holds the embedded index, with a Postgres catalog', async () => {
    const database = await openTestDatabase('postgres');
    const pgDataDir = join(work, 'served-pg');
    const pgServer = await serveCli(['--data-dir', pgDataDir, '--model', tiny], { DATABASE_URL: database.url });
    try {
      const env = { DATABASE_URL: database.url };
      const created = await cli(['keys', 'create', '--scope', 'read', '--data-dir', pgDataDir], { env });
      expect(created.code, created.stderr).toBe(0);
      const listed = await cli(['keys', 'list', '--data-dir', pgDataDir], { env });
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject({ scope: 'read', prefix: created.stdout.trim().slice(3, 11) });
      const search = await cli(['search', 'x', '--data-dir', pgDataDir], { env });
      expect(search.code).toBe(EXIT_CODES.environment);
      expect(search.stderr).toContain(`a biovec server (pid ${pgServer.child.pid}) holds the embedded index`);
    } finally {
      await pgServer.stop();
      await database.cleanup();
    }
  });
});

describe('biovec search uses the model its collection records', () => {
  it('searches without --model, and refuses another model naming the one to pass', async () => {
    const dataDir = join(work, 'search-model');
    const bert = fixtureModel('tiny-bert');
    const input = join(work, 'bert.jsonl');
    await writeFile(input, [{ id: 'b1', text: 'BRCA1 and breast cancer' }, { id: 'b2', text: 'Aspirin inhibits COX' }].map((r) => JSON.stringify(r)).join('\n'));
    const ingested = await cli(['ingest', input, '-c', 'bert', '--data-dir', dataDir, '--model', bert]);
    expect(ingested.code, ingested.stderr).toBe(0);
    // No --model: the default (a hub model, not in this empty cache) must not be what is loaded.
    const found = await cli(['search', 'BRCA1 and breast cancer', '-c', 'bert', '--json', '--data-dir', dataDir], { env: { HF_HUB_OFFLINE: '1' } });
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).results[0]).toMatchObject({ id: 'b1' });
    const other = await cli(['search', 'x', '-c', 'bert', '--data-dir', dataDir, '--model', fixtureModel('tiny-roberta')]);
    expect(other.code).toBe(EXIT_CODES.usage);
    expect(other.stderr).toContain(`collection bert holds vectors of ${bert} (32-d, cls pooling); the loaded model differs in modelId`);
    expect(other.stderr).toContain(`search it with --model ${bert}`);
  });
});

describe('biovec ingest / search keep int8 and fp32 vectors apart', () => {
  it('refuses an int8 ingest into a collection of fp32 vectors, and searches an int8 collection with int8', async () => {
    const dataDir = join(work, 'quantize-binding');
    const model = ['--model', fixtureModel('tiny-roberta')];
    const input = join(work, 'quantize.jsonl');
    await writeFile(input, [{ id: 'q1', text: 'BRCA1 and breast cancer' }, { id: 'q2', text: 'Aspirin inhibits COX' }].map((r) => JSON.stringify(r)).join('\n'));
    expect((await cli(['ingest', input, '-c', 'fp32', '--data-dir', dataDir, ...model])).code).toBe(0);
    const mixed = await cli(['ingest', input, '-c', 'fp32', '--data-dir', dataDir, '--quantize', 'int8', ...model]);
    expect(mixed.code).not.toBe(0);
    expect(mixed.stderr).toContain('quantize "none" (asked "int8")');

    const ingested = await cli(['ingest', input, '-c', 'int8', '--data-dir', dataDir, '--quantize', 'int8', ...model]);
    expect(ingested.code, ingested.stderr).toBe(0);
    // No --model and no --quantize: the collection's binding loads the int8 graph.
    const found = await cli(['search', 'BRCA1 and breast cancer', '-c', 'int8', '--json', '--data-dir', dataDir]);
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).results[0]).toMatchObject({ id: 'q1' });
    // --model given with fp32: named as the differing field, with the flag to pass.
    const other = await cli(['search', 'x', '-c', 'int8', '--data-dir', dataDir, ...model]);
    expect(other.code).toBe(EXIT_CODES.usage);
    expect(other.stderr).toContain('the loaded model differs in quantize');
    expect(other.stderr).toContain('--quantize int8');
  });
});
