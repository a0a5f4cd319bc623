import { createReadStream, createWriteStream } from 'node:fs';
import { onlyEmbedder } from '../embedding/embedder-registry.js';
import { stat } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { defaultChunkOverlap, collectionConfigFor } from '../app-deps.js';
import { ensureCollectionRecord, getCollection } from '../catalog/collections.js';
import { countExportRows, exportFilter, openExport, type ExportQuery } from '../exports/export-service.js';
import type { ExportFormat } from '../exports/writers/export-row.js';
import { importAndIndex } from '../imports/import-and-index.js';
import { detectFormat, parserFor, type ImportFormat } from '../imports/import-records.js';
import { InvalidInputError } from '../lib/errors.js';
import { DEFAULT_FUSION } from '../search/fusion.js';
import { searchDocuments } from '../search/search-service.js';
import { ENV_NAMES } from '../config.js';
import { configFrom } from './config-options.js';
import { checkInputFile, checkOutputFile } from './input-file.js';
import { withCollectionModel } from './collection-model.js';
import { withModelAndStores, withStores } from './with-stores.js';
import { createProgress } from './progress.js';

/** `ingest`, `search` and `export`: the same services as the HTTP API, on the local stores. */
export function addDataCommands(program: Command, env: Record<string, string | undefined>): void {
  program
    .command('ingest')
    .description('Ingest a file (NDJSON, CSV, PubMed/MEDLINE XML; .gz fine) or stdin into a collection, with a progress bar')
    .argument('[file]', 'input file (default: stdin)')
    .option('-c, --collection <name>', 'collection (created with the loaded model if absent)', 'default')
    .addOption(new Option('--format <format>', 'input format (default: from the file name)').choices(['ndjson', 'csv', 'pubmed']))
    .option('--id-field <name>', 'field (CSV: column) holding the document id (default: id, then _id)')
    .option('--title-field <name>', 'field holding the title (default: title)')
    .option('--text-field <name>', 'field holding the text (default: text, then abstract, then body)')
    .option('--labels-field <name>', 'field holding the labels: a string or a list (CSV: ;-separated) (default: labels)')
    .addOption(new Option('--id-from <source>', 'record: number documents by their line (for data without ids, e.g. ChemProt)').choices(['field', 'record']).default('field'))
    .action(async (file: string | undefined, o: { collection: string; format?: ImportFormat; idField?: string; titleField?: string; textField?: string; labelsField?: string; idFrom: 'field' | 'record' }, cmd: Command) => {
      const config = configFrom(cmd, env);
      const format = o.format ?? detectFormat(file ?? '');
      if (!format) throw new InvalidInputError('say the input format with --format ndjson|csv|pubmed');
      await checkInputFile(file);
      await withModelAndStores(config, async (embedder, { database, index }) => {
        const collection = await ensureCollectionRecord(database.db, collectionConfigFor(embedder)(o.collection, { distance: 'cosine', chunkOverlap: defaultChunkOverlap(embedder) }));
        const source = file && file !== '-' ? createReadStream(file) : process.stdin;
        const progress = createProgress(`ingesting into ${o.collection}`, { unit: 'bytes', countLabel: 'records' });
        if (file && file !== '-') progress.setTotal((await stat(file)).size);
        const mapping = Object.fromEntries(Object.entries({ id: o.idField, title: o.titleField, text: o.textField, labels: o.labelsField, idFrom: o.idFrom }).filter(([, v]) => v));
        const { progress: result, errors, outboxPending: left } = await importAndIndex({
          db: database.db, index, embedder, collection, records: parserFor(format, source as AsyncIterable<Uint8Array>, mapping, { maxRecordBytes: config.maxRecordBytes }),
          onBatch: (p) => progress.update((source as { bytesRead?: number }).bytesRead ?? 0, { count: p.done + p.failed }),
        });
        progress.stop();
        for (const e of errors.slice(0, 20)) process.stderr.write(`biovec: record ${e.record} skipped: ${e.detail}\n`);
        process.stdout.write(`${JSON.stringify({ collection: o.collection, ...result, errors: errors.length, outbox_pending: left })}\n`);
      });
    });

  program
    .command('search')
    .description('Search a collection by text; prints a table (or --json)')
    .argument('<query>', 'query text')
    .option('-c, --collection <name>', 'collection', 'default')
    .option('-k <n>', 'documents to return', '10')
    .option('--labels <list>', 'only documents with any of these comma-separated labels')
    .option('--year-gte <year>', 'only documents published in or after this year')
    .option('--year-lte <year>', 'only documents published in or before this year')
    .addOption(new Option('--mode <mode>', 'dense (vectors), lexical (BM25) or hybrid (both, fused); default hybrid where the collection has a lexical index').choices(['dense', 'lexical', 'hybrid']))
    .addOption(new Option('--fusion <method>', 'how hybrid fuses its legs').choices(['weighted', 'rrf']))
    .option('--dense-weight <w>', 'weighted fusion: the dense leg\'s share, 0..1 (default 0.55)')
    .option('--json', 'JSON output')
    .action(async (query: string, o: { collection: string; k: string; labels?: string; yearGte?: string; yearLte?: string; json?: boolean; mode?: 'dense' | 'lexical' | 'hybrid'; fusion?: 'weighted' | 'rrf'; denseWeight?: string }, cmd: Command) => {
      const denseWeight = o.denseWeight === undefined ? DEFAULT_FUSION.denseWeight : Number(o.denseWeight);
      if (!(denseWeight >= 0 && denseWeight <= 1)) throw new InvalidInputError(`--dense-weight must be a number from 0 to 1, got ${o.denseWeight}`);
      const fusion = o.fusion || o.denseWeight !== undefined ? { method: o.fusion ?? DEFAULT_FUSION.method, dense_weight: denseWeight, rrf_k: DEFAULT_FUSION.rrfK } : undefined;
      const config = configFrom(cmd, env);
      await withStores(config, async ({ database, index }) => {
        const collection = await getCollection(database.db, o.collection);
        const isModelGiven = cmd.optsWithGlobals().model !== undefined || env[ENV_NAMES.model] !== undefined;
        await withCollectionModel({ config, collection, isModelGiven }, async (embedder) => {
          const labels = o.labels?.split(',').map((s) => s.trim()).filter(Boolean);
          const year = o.yearGte || o.yearLte ? { gte: o.yearGte ? Number(o.yearGte) : undefined, lte: o.yearLte ? Number(o.yearLte) : undefined } : undefined;
          const filter = labels?.length || year ? { ...(labels?.length ? { labels } : {}), ...(year ? { year } : {}) } : undefined;
          const res = await searchDocuments({ db: database.db, index, embedders: onlyEmbedder(embedder) }, o.collection, { query, k: Number(o.k), offset: 0, with_text: true, filter, mode: o.mode, fusion });
          if (o.json) {
            process.stdout.write(`${JSON.stringify(res)}\n`);
            return;
          }
          // Which legs found each hit, at which rank: d3 = dense rank 3, l1 = lexical rank 1.
          const legs = (r: (typeof res.results)[number]) => [r.legs.dense && `d${r.legs.dense.rank}`, r.legs.lexical && `l${r.legs.lexical.rank}`].filter(Boolean).join(' ');
          const rows = res.results.map((r, i) => `${String(i + 1).padStart(3)}  ${r.score.toFixed(4)}  ${legs(r).padEnd(9)}  ${r.id.padEnd(14).slice(0, 14)}  ${(r.title ?? r.chunk.text ?? '').replace(/\s+/g, ' ').slice(0, 70)}`);
          process.stdout.write(`  #  score   legs       id              title   (${res.mode})\n${rows.join('\n')}\n`);
        });
      });
    });

  program
    .command('export')
    .description('Export vectors with labels to a file (CSV in Ersilia layout, JSONL, NPY + .ids.csv sidecar, Parquet)')
    .requiredOption('-o, --output <file>', 'output file')
    .option('-c, --collection <name>', 'collection', 'default')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'jsonl', 'npy', 'parquet']).default('csv'))
    .addOption(new Option('--rows <rows>', 'one row per document, or one per chunk').choices(['document', 'chunk']).default('document'))
    .addOption(new Option('--doc-vector <how>', 'per-document vector: first chunk (eos1086) or mean of chunks').choices(['first', 'mean']).default('first'))
    .option('--labels <list>', 'only documents with any of these comma-separated labels')
    .option('--year-gte <year>', 'only documents published in or after this year')
    .option('--year-lte <year>', 'only documents published in or before this year')
    .action(async (o: { output: string; collection: string; format: ExportFormat; rows: 'document' | 'chunk'; docVector: 'first' | 'mean'; labels?: string; yearGte?: string; yearLte?: string }, cmd: Command) => {
      await checkOutputFile(o.output);
      await withStores(configFrom(cmd, env), async ({ database }) => {
        const collection = await getCollection(database.db, o.collection);
        const query: ExportQuery = { format: o.format, rows: o.rows, pooling: o.docVector, filter: exportFilter({ labels: o.labels, yearGte: o.yearGte ? Number(o.yearGte) : undefined, yearLte: o.yearLte ? Number(o.yearLte) : undefined }) };
        const rows = await countExportRows(database.db, collection, query);
        const progress = createProgress(`exporting ${o.collection}`, { unit: 'items' });
        progress.setTotal(rows);
        const written = await openExport({ db: database.db, collection, query, sink: createWriteStream(o.output), rows, onRow: (n) => { if (n % 100 === 0) progress.update(n); } }).run();
        if (o.format === 'npy') {
          const sidecar = o.output.replace(/\.npy$/, '') + '.ids.csv';
          await openExport({ db: database.db, collection, query: { ...query, format: 'ids' }, sink: createWriteStream(sidecar), rows }).run();
          process.stderr.write(`biovec: row ids and labels in ${sidecar}\n`);
        }
        progress.update(written);
        progress.stop();
        process.stderr.write(`biovec: wrote ${written} row(s) to ${o.output}\n`);
      });
    });
}
