import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCollection } from '../../src/catalog/collections.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { ImportJobRunner } from '../../src/imports/job-runner.js';
import { createImportJob, getJob } from '../../src/imports/job-store.js';
import { createHarness, waitForJob, type Harness } from '../helpers/app-harness.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';


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

  it('resumes an interrupted job from its last saved record', async () => {
    const collection = await getCollection(h.deps.db, 'default');
    const file = join(h.deps.imports.uploadsDir, 'resume.upload');
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `record number ${i}` }));
    await writeFile(file, lines.join('\n'));
    const job = await createImportJob(h.deps.db, collection.id, { file, format: 'ndjson', mapping: {}, bytes: 1, bytesRead: 0, progress: { done: 0, failed: 0, cursor: 0, created: 0, updated: 0, unchanged: 0 } });
    // A first process dies after a few batches (stop() aborts at a batch boundary).
    let batches = 0;
    const first = new ImportJobRunner({ db: h.deps.db, embedder: h.deps.embedder, logger: h.deps.logger, onBatch: () => { batches += 1; if (batches === 2) void first.stop(); } });
    first.enqueue(job.id);
    await first.idle();
    const interrupted = await getJob(h.deps.db, job.id);
    expect(interrupted.status).toBe('running');
    expect(interrupted.done).toBeGreaterThan(0);
    expect(interrupted.done).toBeLessThan(300);
    // The next process picks it up and finishes without redoing what was saved.
    const second = new ImportJobRunner({ db: h.deps.db, embedder: h.deps.embedder, logger: h.deps.logger });
    expect(await second.resumeUnfinished()).toBe(1);
    await second.idle();
    const done = await getJob(h.deps.db, job.id);
    expect(done).toMatchObject({ status: 'completed', done: 300 });
    expect((done.state as { progress: { created: number; unchanged: number } }).progress).toMatchObject({ created: 300, unchanged: 0 });
  });
});
