import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { listCollections } from '../catalog/collections.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import { EmbeddedIndex } from '../vectors/adapters/embedded/embedded-index.js';
import { locateBeirDataset, readQrels, readQueries } from './beir-dataset.js';
import { evaluateRetrieval } from './retrieval-eval.js';
import { meanScores, scoreQuery, type RankedHit } from './retrieval-metrics.js';

// The hash embedder stands in for a model here: these tests are about the dataset reader, the
// pipeline and the scoring. Real models on real SciFact: test/real-models.test.ts.
const TOPICS = ['insulin glucose pancreas diabetes', 'tumour metastasis chemotherapy carcinoma', 'neuron synapse dopamine cortex',
  'bacteria antibiotic resistance plasmid', 'virus capsid replication influenza', 'kidney nephron filtration urea'];

let dir: string;
let db: TestDatabase;
let index: EmbeddedIndex;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'biovec-beir-'));
  const corpus = TOPICS.map((t, i) => JSON.stringify({ _id: `doc${i}`, title: `Study ${i}`, text: t }));
  // A long document: several chunks, still one result.
  corpus.push(JSON.stringify({ _id: 'long', title: 'Review', text: `${'general cell biology words '.repeat(30)} enzyme kinetics substrate` }));
  corpus.push('{"_id": "broken", "title": 5}'); // not a document: reported, not fatal
  await writeFile(join(dir, 'corpus.jsonl'), `${corpus.join('\n')}\n`);
  const queries = TOPICS.map((t, i) => JSON.stringify({ _id: `q${i}`, text: t.split(' ').slice(0, 3).join(' ') }));
  queries.push(JSON.stringify({ _id: 'qlong', text: 'enzyme kinetics substrate' }));
  await writeFile(join(dir, 'queries.jsonl'), `${queries.join('\n')}\n`);
  await mkdir(join(dir, 'qrels'));
  const qrels = ['query-id\tcorpus-id\tscore', ...TOPICS.map((_, i) => `q${i}\tdoc${i}\t1`), 'qlong\tlong\t2', 'qmissing\tdoc1\t1'];
  await writeFile(join(dir, 'qrels', 'test.tsv'), `${qrels.join('\n')}\n`);
  db = await openTestDatabase('pglite');
  index = await EmbeddedIndex.openAt(join(dir, 'index'));
});
afterAll(async () => {
  await index.close();
  await db.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('BEIR dataset files', () => {
  it('reads queries and qrels with or without a header, and TREC four-column qrels', async () => {
    expect((await readQueries(join(dir, 'queries.jsonl'))).get('qlong')).toBe('enzyme kinetics substrate');
    const qrels = await readQrels(join(dir, 'qrels', 'test.tsv'));
    expect(qrels.get('qlong')).toEqual(new Map([['long', 2]]));
    const trec = join(dir, 'trec.qrels');
    await writeFile(trec, 'q1 0 d7 1\nq1 0 d8 0\n');
    expect(await readQrels(trec)).toEqual(new Map([['q1', new Map([['d7', 1], ['d8', 0]])]]));
    await writeFile(trec, 'q1\td7\t1\nq1\td8\thigh\n');
    await expect(readQrels(trec)).rejects.toThrow(/line 2: score "high" is not a number/);
  });

  it('names the missing files of a directory that is not a BEIR dataset', async () => {
    await expect(locateBeirDataset(join(dir, 'qrels'), 'test')).rejects.toThrow(/no corpus\.jsonl\[\.gz\], queries\.jsonl\[\.gz\], qrels\/test\.tsv/);
    await expect(locateBeirDataset(dir, 'dev')).rejects.toThrow(/no qrels\/dev\.tsv$/);
  });
});

describe('evaluateRetrieval', () => {
  it('ingests the corpus, searches every judged query with the query prompt and scores the run', async () => {
    const embedder = new HashEmbedder(64, 24);
    embedder.info.prompts = { query: 'question', document: '' };
    const runs = new Map<string, RankedHit[]>();
    const phases = new Set<string>();
    const result = await evaluateRetrieval({
      db: db.handle.db, index, embedder, dataset: dir,
      onQuery: (q, ranked) => runs.set(q, ranked), onProgress: (p) => phases.add(p.phase),
    });
    expect(result).toMatchObject({ collection: `eval-${dir.split('/').at(-1)}`, docs: 7, failed_docs: 1, queries: 7, skipped_queries: 1 });
    expect(result.model.prompts).toEqual({ query: 'question', document: '' });
    expect([...phases]).toEqual(['ingest', 'search']);
    // Every query finds its topic's document first; the long one is one result though several chunks.
    for (const [q, ranked] of runs) expect(ranked[0]!.id, q).toBe(q === 'qlong' ? 'long' : `doc${q.slice(1)}`);
    expect(new Set(runs.get('qlong')!.map((h) => h.id)).size).toBe(runs.get('qlong')!.length);
    expect(result.ndcg_at_10).toBe(1);
    expect(result.mrr_at_10).toBe(1);
    expect(result.recall_at_100).toBe(1);
    // The reported means are the per-query figures of the run the search returned.
    const qrels = await readQrels(join(dir, 'qrels', 'test.tsv'));
    const mean = meanScores([...runs].map(([q, ranked]) => scoreQuery(ranked, qrels.get(q)!)));
    expect(result.recall_at_10).toBeCloseTo(mean.recallAt10, 5);
  });

  it('starts from an empty collection unless asked to reuse it', async () => {
    const embedder = new HashEmbedder(64, 24);
    const fresh = await evaluateRetrieval({ db: db.handle.db, index, embedder, dataset: dir, collection: 'again' });
    const embedded = embedder.embeddedTexts;
    const reused = await evaluateRetrieval({ db: db.handle.db, index, embedder, dataset: dir, collection: 'again', reuse: true });
    expect(embedder.embeddedTexts - embedded).toBe(7); // queries only: unchanged documents are not embedded again
    expect(reused.ndcg_at_10).toBe(fresh.ndcg_at_10);
    await evaluateRetrieval({ db: db.handle.db, index, embedder, dataset: dir, collection: 'again' });
    expect(embedder.embeddedTexts - embedded).toBeGreaterThan(7 + 7);
    expect((await listCollections(db.handle.db)).filter((c) => c.name === 'again')).toHaveLength(1);
  });
});
