// Retrieval quality on SciFact (BEIR test split: 5,183 abstracts, 300 judged claims) with a
// real model, through the whole pipeline (`biovec eval retrieval` on a fresh, temporary
// PGlite catalog and embedded index):
//   npm run -s eval:scifact [-- --json] [--model .models/bge-small-en-v1.5] [--dataset ../shared/data/scifact]
// Models come from `bash scripts/fetch-models.sh`; published figures to compare with are in the README.
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { loadEmbedder } from '../src/embedding/load-embedder.js';
import { evaluateRetrieval } from '../src/eval/retrieval-eval.js';
import { openStores } from '../src/stores.js';

const { values } = parseArgs({ options: {
  json: { type: 'boolean', default: false },
  model: { type: 'string', default: '.models/bge-small-en-v1.5' },
  dataset: { type: 'string', default: '../shared/data/scifact' },
} });
const exists = (p: string) => access(p).then(() => true, () => false);
const log = (m: string) => { if (!values.json) process.stderr.write(`${m}\n`); };

if (!(await exists(values.model))) {
  process.stderr.write(`eval:scifact: no model at ${values.model}: run bash scripts/fetch-models.sh first\n`);
  process.exit(2);
}
if (!(await exists(join(values.dataset, 'qrels', 'test.tsv')))) {
  process.stderr.write(`eval:scifact: no SciFact (BEIR format) at ${values.dataset}\n`);
  process.exit(2);
}
const dataDir = await mkdtemp(join(tmpdir(), 'biovec-eval-'));
const embedder = await loadEmbedder(loadConfig({}, { model: resolve(values.model), cacheDir: join(dataDir, 'cache'), hfHubOffline: true }));
const stores = await openStores({ dataDir, databaseUrl: undefined, qdrantUrl: undefined, qdrantApiKey: undefined, qdrantTimeoutMs: 5000 });
try {
  let lastLog = 0;
  const r = await evaluateRetrieval({
    db: stores.database.db, index: stores.index, embedder, dataset: values.dataset, collection: 'scifact',
    onProgress: ({ phase, done, total }) => {
      if (Date.now() - lastLog < 10_000 && done < total) return;
      lastLog = Date.now();
      log(`${phase}: ${((100 * done) / total).toFixed(0)}%`);
    },
  });
  const line = { model: r.model.id.split('/').at(-1), ndcg_at_10: r.ndcg_at_10, recall_at_10: r.recall_at_10, recall_at_100: r.recall_at_100, mrr_at_10: r.mrr_at_10, docs: r.docs, queries: r.queries, seconds: r.seconds, ingest_seconds: r.ingest_seconds, search_seconds: r.search_seconds, max_tokens: r.model.max_tokens, pooling: r.model.pooling, prompts: r.model.prompts };
  process.stdout.write(values.json ? `${JSON.stringify(line)}\n` : `${JSON.stringify(line, null, 2)}\n`);
} finally {
  await stores.close();
  await embedder.close();
  await rm(dataDir, { recursive: true, force: true });
}
