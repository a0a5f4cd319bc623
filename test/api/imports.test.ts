import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCollection } from '../../src/catalog/collections.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { ImportKind } from '../../src/imports/import-kind.js';
import { JobRunner } from '../../src/jobs/job-runner.js';
import { claimJob } from '../../src/jobs/job-store.js';
import { createImportJob, getJob } from '../../src/imports/job-store.js';
import { importRecords, type ImportError } from '../../src/imports/import-records.js';
import type { ParsedRecord } from '../../src/ingest/parsers/parsed-record.js';
import { createHarness, waitForJob, type Harness } from '../helpers/app-harness.js';
import { DATABASE_BACKENDS } from '../helpers/database.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectoryStorage } from '../../src/storage/directory-storage.js';
import { openUploadStorage } from '../../src/storage/open-upload-storage.js';
import { loadConfig } from '../../src/config.js';
import { gzipSync } from 'node:zlib';


describe('imports (jobs)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ embedder: new HashEmbedder(32, 32), limits: { maxUploadBytes: 4096 } });
  });
  afterAll(async () => h.close());

  it('imports CSV with a column mapping and reports bad rows by line number', async () => {
    const csv = 'pmid,heading,abstract,tags\n1,Aspirin,aspirin inhibits platelets,a;b\n2,,,\n3,Statins,"statins, lipids\nand muscle",c\n';
    const res = await h.app.request('/v1/collections/default/imports?format=csv&id_field=pmid&title_field=heading&text_field=abstract&labels_field=tags', { method: 'POST', body: csv });
    expect(res.status).toBe(202);
    const job = await waitForJob(h, ((await res.json()) as { id: string }).id);
    expect(job).toMatchObject({ status: 'completed', done: 2, failed: 1, errors: [{ record: 3, detail: expect.any(String) }] });
    expect((await h.call('GET', '/v1/collections/default/documents/1')).body.labels).toEqual(['a', 'b']);
  });

  it('fails a job with a reason when the file is unreadable, and refuses bad requests', async () => {
    const res = await h.app.request('/v1/collections/default/imports?format=pubmed', { method: 'POST', body: 'not xml at all' });
    const job = await waitForJob(h, ((await res.json()) as { id: string }).id);
    expect(job.status).toBe('failed');
    expect(job.error).toBeTruthy();
    const unknown = await h.call('POST', '/v1/collections/default/imports', 'x', { 'content-type': 'text/plain' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].pointer).toBe('/format');
    expect((await h.call('POST', '/v1/collections/default/imports?format=ndjson', 'x'.repeat(5000))).status).toBe(413);
    expect((await h.call('POST', '/v1/collections/nope/imports?format=ndjson', '{}')).status).toBe(404);
    expect((await h.call('GET', '/v1/jobs/not-a-job')).status).toBe(404);
  });

  it('resumes an interrupted job where it stopped: another process takes it over once the first stopped', async () => {
    const collection = await getCollection(h.deps.db, 'default');
    const storage = h.deps.imports.storage as DirectoryStorage;
    await mkdir(storage.dir, { recursive: true });
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `record number ${i}` }));
    await writeFile(storage.pathOf('resume.upload'), lines.join('\n'));
    // Not the harness's runner: this job is only for the two below.
    await h.deps.imports.runner.stop();
    const job = await createImportJob(h.deps.db, collection.id, { upload: 'resume.upload', format: 'ndjson', mapping: {}, bytes: 1, bytesRead: 0, progress: { cursor: 0 } });
    // A first process stops after two batches (stop() gives its leases back).
    let batches = 0;
    const kinds = [new ImportKind({ storage })];
    const first: JobRunner = new JobRunner({ db: h.deps.db, embedders: h.deps.embedders, logger: h.deps.logger, kinds, pollMs: 20, maxPendingBatches: 2, onBatch: () => { batches += 1; if (batches === 2) void first.stop(); } });
    first.start();
    await until(async () => batches >= 2 && (await getJob(h.deps.db, job.id)).leaseOwner === null);
    await first.stop();
    const interrupted = await getJob(h.deps.db, job.id);
    expect(interrupted.status).toBe('running');
    expect(interrupted.done).toBeGreaterThan(0);
    expect(interrupted.done).toBeLessThan(300);
    // The next process picks it up and finishes without redoing what was saved.
    const second = new JobRunner({ db: h.deps.db, embedders: h.deps.embedders, logger: h.deps.logger, kinds, pollMs: 20 });
    second.start();
    await until(async () => (await getJob(h.deps.db, job.id)).status !== 'running');
    await second.stop();
    const done = await getJob(h.deps.db, job.id);
    expect(done).toMatchObject({ status: 'completed', done: 300, total: 300 });
    expect((done.state as { counts: { created: number; unchanged: number } }).counts).toMatchObject({ created: 300, unchanged: 0 });
    expect(await storage.exists('resume.upload')).toBe(false);
  });
});

describe.skipIf(!process.env.S3_TEST_URL)(`imports with uploads in S3 ${process.env.S3_TEST_URL ? '' : '(skipped: set S3_TEST_URL to an S3-compatible server; .ci/run starts one)'}`, () => {
  it('stores the upload in the bucket, imports it from there and removes it at the end', async () => {
    const storage = await openUploadStorage({ ...loadConfig({}), uploadsS3Bucket: `biovec-imports-${Math.random().toString(36).slice(2, 10)}`, uploadsS3Endpoint: process.env.S3_TEST_URL!, uploadsS3AccessKeyId: 'test', uploadsS3SecretAccessKey: 'test' });
    const h = await createHarness({ embedder: new HashEmbedder(32, 32), storage });
    try {
      const body = Array.from({ length: 150 }, (_, i) => JSON.stringify({ id: `s${i}`, text: `stored in a bucket ${i}` })).join('\n');
      const accepted = await h.app.request('/v1/collections/default/imports?format=ndjson', { method: 'POST', body });
      const id = ((await accepted.json()) as { id: string }).id;
      const key = ((await getJob(h.deps.db, id)).state as { upload: string }).upload;
      const job = await waitForJob(h, id);
      expect(job).toMatchObject({ status: 'completed', done: 150 });
      expect((await storage.list()).map((u) => u.key)).not.toContain(key);
      expect((await h.call('GET', '/v1/collections/default')).body.documents).toBe(150);
    } finally {
      await h.close();
    }
  });
});

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2400; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}

/** Whether any process could claim a job now (a final job never is). */
const isClaimable = async (h: Harness) => (await claimJob(h.deps.db, { owner: 'probe', leaseMs: 1, kinds: ['import'] })) !== undefined;

/** An Embedder double whose `gatedCall`-th embedChunks call waits until released or aborted, so a test can act while a job is mid-run. */
class GatedEmbedder extends HashEmbedder {
  calls = 0;
  reached!: Promise<void>;
  private arrive!: () => void;
  private open!: () => void;
  private readonly opened: Promise<void>;

  constructor(private readonly gatedCall: number) {
    super(32, 32);
    this.reached = new Promise((resolve) => (this.arrive = resolve));
    this.opened = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  override async embedChunks(chunks: Parameters<Embedder['embedChunks']>[0], options?: Parameters<Embedder['embedChunks']>[1]): Promise<Float32Array[]> {
    this.calls += 1;
    if (this.calls === this.gatedCall) {
      this.arrive();
      await Promise.race([this.opened, new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true }))]);
    }
    return super.embedChunks(chunks);
  }
}

const post = async (h: Harness, path: string, body: string | Uint8Array, contentType = 'application/octet-stream') => {
  const res = await h.app.request(path, { method: 'POST', body, headers: { 'content-type': contentType } });
  return { status: res.status, body: (await res.json()) as any };
};
const uploadOf = async (h: Harness, id: string) => ((await getJob(h.deps.db, id)).state as { upload: string }).upload;
const isStored = (h: Harness, key: string) => h.deps.imports.storage.exists(key);
const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: `d${from + i}`, text: `document number ${from + i}` })).join('\n');

describe.each(DATABASE_BACKENDS)('imports: hostile input, bad records, cancel and cleanup (%s)', (backend) => {
  it('imports the records around a gzip line longer than the limit, which is an error record with its line; a CSV quote that never closes fails the job naming the record and removes the upload', async () => {
    const h = await createHarness({ embedder: new HashEmbedder(32, 32), backend, maxRecordBytes: 16 * 1024 });
    try {
      const ndjson = gzipSync([lines(3), JSON.stringify({ id: 'big', text: 'w '.repeat(500_000) }), lines(3, 3)].join('\n'));
      expect(ndjson.length).toBeLessThan(20_000);
      const accepted = await post(h, '/v1/collections/default/imports?format=ndjson', ndjson);
      const job = await waitForJob(h, accepted.body.id);
      expect(job).toMatchObject({ status: 'completed', done: 6, failed: 1, errors: [{ record: 4, detail: expect.stringMatching(/^the line is longer than 16384 bytes/) }] });
      expect(await isStored(h, await uploadOf(h, job.id))).toBe(false);

      const csv = gzipSync(`id,text\nc1,first\nc2,"never closed\n${'and on, and on\n'.repeat(5000)}`);
      const failed = await waitForJob(h, (await post(h, '/v1/collections/default/imports?format=csv', csv)).body.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/^the CSV record starting on line 3 is longer than 16384 characters/);
      expect(failed.done).toBe(1);
      expect((await h.call('GET', '/v1/collections/default/documents/c1')).status).toBe(200);
      expect(await isStored(h, await uploadOf(h, failed.id))).toBe(false);
      // A failed job is final: no process picks it up again.
      expect(await isClaimable(h)).toBe(false);
    } finally {
      await h.close();
    }
  });

  it('makes records with NUL or too-deep metadata error records and imports every other record, its batch included', async () => {
    const h = await createHarness({ embedder: new HashEmbedder(32, 32), backend });
    try {
      let deep: unknown = 'bottom';
      for (let i = 0; i < 100; i += 1) deep = { d: deep };
      const records = [
        ...Array.from({ length: 10 }, (_, i) => ({ id: `ok${i}`, text: `fine record ${i}` })),
        { id: 'nul-text', text: 'a\u0000b' },
        { id: 'nul-key', text: 'x', metadata: { 'k\u0000': 1 } },
        { id: 'nul\u0000id', text: 'x' },
        { id: 'nul-label', text: 'x', labels: ['a\u0000'] },
        { id: 'deep', text: 'x', metadata: { deep } },
        ...Array.from({ length: 10 }, (_, i) => ({ id: `ok${10 + i}`, text: `fine record ${10 + i}` })),
      ];
      const accepted = await post(h, '/v1/collections/default/imports?format=ndjson', records.map((r) => JSON.stringify(r)).join('\n'));
      const job = await waitForJob(h, accepted.body.id);
      expect(job.error).toBeUndefined();
      expect(job.status).toBe('completed');
      expect(job.done).toBe(20);
      expect(job.errors.map((e: { record: number; detail: string }) => [e.record, e.detail])).toEqual([
        [11, expect.stringContaining('/text contains U+0000')],
        [12, expect.stringContaining('key contains U+0000')],
        [13, expect.stringContaining('/id contains U+0000')],
        [14, expect.stringContaining('/labels/0 contains U+0000')],
        [15, expect.stringContaining('nests deeper than')],
      ]);
      expect((await h.call('GET', '/v1/collections/default')).body.documents).toBe(20);
      for (const id of ['ok0', 'ok9', 'ok10', 'ok19']) expect((await h.call('GET', `/v1/collections/default/documents/${id}`)).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('writes a batch the catalog refuses record by record, so only the culprit fails', async () => {
    const h = await createHarness({ embedder: new HashEmbedder(32, 32), backend });
    try {
      const collection = await getCollection(h.deps.db, 'default');
      // A blank id passes the field checks but not validateDocuments: the batch call fails whole.
      const parsed: ParsedRecord[] = [{ record: 1, doc: { externalId: 'a', body: 'one' } }, { record: 2, doc: { externalId: '  ', body: 'blank id' } }, { record: 3, doc: { externalId: 'c', body: 'three' } }];
      const seen: ImportError[] = [];
      const progress = await importRecords({ db: h.deps.db, embedder: h.deps.embedder, collection, records: (async function* () { yield* parsed; })(), onBatch: async (_p, errors) => void seen.push(...errors) });
      expect(progress).toMatchObject({ done: 2, failed: 1, created: 2, cursor: 3 });
      expect(seen).toEqual([{ record: 2, detail: expect.stringContaining('is required') }]);
    } finally {
      await h.close();
    }
  });

  it('DELETE /v1/jobs/{id} cancels a running job at a batch boundary and removes its upload; again: unchanged; finished: 409; unknown: 404', async () => {
    const embedder = new GatedEmbedder(2);
    const h = await createHarness({ embedder, backend });
    try {
      const accepted = await post(h, '/v1/collections/default/imports?format=ndjson', lines(300));
      await embedder.reached;
      const file = await uploadOf(h, accepted.body.id);
      const res = await h.call('DELETE', `/v1/jobs/${accepted.body.id}`);
      expect(res.status).toBe(200);
      // The next batch is embedded while one is written (issue 14), so the gated call can come
      // before or after the first batch's write: the job stops at a boundary either way, and
      // its count is what the collection kept.
      expect(res.body).toMatchObject({ id: accepted.body.id, status: 'cancelled' });
      const kept = res.body.done as number;
      expect([0, 64]).toContain(kept);
      expect((await h.call('GET', '/v1/collections/default')).body.documents).toBe(kept);
      expect(await isStored(h, file)).toBe(false);
      expect((await h.call('GET', `/v1/jobs/${accepted.body.id}`)).body.status).toBe('cancelled');
      expect((await h.call('DELETE', `/v1/jobs/${accepted.body.id}`)).body).toMatchObject({ status: 'cancelled', done: kept });
      expect(await isClaimable(h)).toBe(false);

      embedder.release();
      const done = await waitForJob(h, (await post(h, '/v1/collections/default/imports?format=ndjson', lines(3))).body.id);
      expect(done.status).toBe('completed');
      const conflict = await h.call('DELETE', `/v1/jobs/${done.id}`);
      expect(conflict.status).toBe(409);
      expect(conflict.headers.get('content-type')).toContain('application/problem+json');
      expect((await h.call('DELETE', '/v1/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await h.call('DELETE', '/v1/jobs/not-a-job')).status).toBe(404);
    } finally {
      embedder.release();
      await h.close();
    }
  });

  it('fails a job whose collection is deleted mid-import, and one still queued, removing both uploads', async () => {
    const embedder = new GatedEmbedder(1);
    const h = await createHarness({ embedder, backend });
    try {
      expect((await h.call('POST', '/v1/collections', { name: 'doomed' })).status).toBeLessThan(300);
      const running = (await post(h, '/v1/collections/doomed/imports?format=ndjson', lines(100))).body.id;
      const queued = (await post(h, '/v1/collections/doomed/imports?format=ndjson', lines(5))).body.id;
      await embedder.reached;
      const files = [await uploadOf(h, running), await uploadOf(h, queued)];
      expect((await h.call('DELETE', '/v1/collections/doomed')).status).toBe(204);
      embedder.release();
      expect(await waitForJob(h, running)).toMatchObject({ status: 'failed', error: 'the collection was deleted during the import', collection_id: null });
      // Queued jobs are planned at once now (any process may embed their batches), so this one may have started too.
      expect(await waitForJob(h, queued)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^the collection was deleted( during the import)?$/) });
      for (const file of files) expect(await isStored(h, file)).toBe(false);
    } finally {
      embedder.release();
      await h.close();
    }
  });

  it('fails, rather than starts again, a job that crashed the process twice at the same record', async () => {
    const h = await createHarness({ embedder: new HashEmbedder(32, 32), backend });
    try {
      const collection = await getCollection(h.deps.db, 'default');
      const storage = h.deps.imports.storage as DirectoryStorage;
      await mkdir(storage.dir, { recursive: true });
      await writeFile(storage.pathOf('crashing.upload'), lines(10));
      const job = await createImportJob(h.deps.db, collection.id, { upload: 'crashing.upload', format: 'ndjson', mapping: {}, bytes: 1, bytesRead: 0, progress: { cursor: 0 }, lastStartCursor: 0, stalledStarts: 1 });
      h.deps.imports.runner.notify();
      const failed = await waitForJob(h, job.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toBe('the import stopped the server 2 times in a row after record 0; it is not resumed again');
      expect(await storage.exists('crashing.upload')).toBe(false);
    } finally {
      await h.close();
    }
  });
});
