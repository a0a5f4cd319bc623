import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { getCollection } from '../../src/catalog/collections.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { importAndIndex } from '../../src/imports/import-and-index.js';
import { parserFor } from '../../src/imports/import-records.js';
import { createHarness, waitForJob, type Harness } from '../helpers/app-harness.js';
import { DATABASE_BACKENDS } from '../helpers/database.js';

// Issue 10: a record's metadata object sent through /imports or `biovec ingest` was stored
// as metadata.metadata, so metadata and year filters missed every imported document.
const record = { id: 'pmid:42', title: 'Aspirin and platelets', text: 'Aspirin irreversibly inhibits COX-1 in platelets.', labels: ['pharma', 'cardio'], metadata: { year: 2001, journal: 'Lancet' } };
const csv = `id,title,text,labels,year,journal\n${record.id},${record.title},${record.text},${record.labels.join(';')},2001,${record.metadata.journal}\n`;
const ndjson = `${JSON.stringify(record)}\n`;

describe.each(DATABASE_BACKENDS)('the same record stores the same document by every ingest route (%s)', (backend) => {
  const stored = async (h: Harness, collection: string) => {
    const res = await h.call('GET', `/v1/collections/${collection}/documents/${encodeURIComponent(record.id)}`);
    expect(res.status).toBe(200);
    const { id, title, text, labels, metadata } = res.body;
    return { id, title, text, labels, metadata };
  };
  const importVia = async (h: Harness, collection: string, format: string, body: string) => {
    const res = await h.app.request(`/v1/collections/${collection}/imports?format=${format}`, { method: 'POST', body });
    expect(res.status).toBe(202);
    const job = await waitForJob(h, ((await res.json()) as { id: string }).id);
    expect(job).toMatchObject({ status: 'completed', done: 1, failed: 0 });
  };

  it('POST /documents (JSON and NDJSON), POST /imports (NDJSON and CSV) and the CLI ingest path agree, and year filters find the import', async () => {
    const h = await createHarness({ embedder: new HashEmbedder(32, 32), backend });
    try {
      const routes = ['json', 'ndjson', 'import-ndjson', 'import-csv', 'cli'];
      for (const name of routes) expect((await h.call('POST', '/v1/collections', { name })).status).toBe(201);
      expect((await h.call('POST', '/v1/collections/json/documents', [record])).body.created).toBe(1);
      expect((await h.call('POST', '/v1/collections/ndjson/documents', ndjson, { 'content-type': 'application/x-ndjson' })).body.created).toBe(1);
      await importVia(h, 'import-ndjson', 'ndjson', ndjson);
      await importVia(h, 'import-csv', 'csv', csv);
      // What `biovec ingest` runs (src/cli/data-commands.ts), on the harness's stores.
      const cli = await importAndIndex({ db: h.deps.db, index: h.deps.index, embedder: h.deps.embedder, collection: await getCollection(h.deps.db, 'cli'), records: parserFor('ndjson', Readable.from([Buffer.from(ndjson)]), {}) });
      expect(cli.progress).toMatchObject({ done: 1, failed: 0 });

      const expected = { id: record.id, title: record.title, text: record.text, labels: record.labels, metadata: record.metadata };
      for (const name of routes) expect({ route: name, ...(await stored(h, name)) }).toEqual({ route: name, ...expected });

      await h.drain();
      const search = await h.call('POST', '/v1/collections/import-ndjson/search', { query: 'aspirin platelets', k: 5, filter: { year: { gte: 2000 } } });
      expect(search.status).toBe(200);
      expect(search.body.results.map((r: { id: string }) => r.id)).toEqual([record.id]);
    } finally {
      await h.close();
    }
  });
});
