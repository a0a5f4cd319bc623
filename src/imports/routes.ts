import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import { getCollection } from '../catalog/collections.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, CollectionParams, errorResponses, storableString } from '../http/common-schemas.js';
import { InvalidInputError, PayloadTooLargeError } from '../lib/errors.js';
import { detectFormat, type ImportFormat } from './import-records.js';
import { createImportJob, getJob } from './job-store.js';
import { JobSchema, jobView } from './job-view.js';

const ImportQuery = z.object({
  format: z.enum(['ndjson', 'csv', 'pubmed']).optional().describe('Default: from Content-Type (x-ndjson, csv, xml)'),
  // Field names end up in the job row (jsonb): no U+0000 (issue 10: ?labels_field=%00 was a 500).
  id_field: storableString().max(256).optional(),
  title_field: storableString().max(256).optional(),
  text_field: storableString().max(256).optional(),
  labels_field: storableString().max(256).optional(),
  label_separator: storableString().max(4).optional(),
});

const JobParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });

export function registerImportRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/collections/{name}/imports', tags: ['imports'],
      summary: 'Upload a file (NDJSON, CSV, PubMed/MEDLINE XML; gzip accepted) and import it as a background job',
      request: { params: CollectionParams, query: ImportQuery, body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } }, required: true } },
      responses: { 202: { content: { 'application/json': { schema: JobSchema } }, description: 'Accepted; follow the Location header' }, ...authErrorResponses, 404: errorResponses[404], 413: errorResponses[413], 422: errorResponses[422] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const q = c.req.valid('query');
      const collection = await getCollection(deps.db, name);
      const format: ImportFormat | undefined = q.format ?? detectFormat(c.req.header('content-type') ?? '');
      if (!format) throw new InvalidInputError('say which format the file is in: ?format=ndjson|csv|pubmed, or a Content-Type such as application/x-ndjson, text/csv, application/xml', [{ pointer: '/format', detail: 'unknown format' }]);
      if (!c.req.raw.body) throw new InvalidInputError('the upload is empty', [{ pointer: '/', detail: 'empty body' }]);
      await mkdir(deps.imports.uploadsDir, { recursive: true });
      const file = join(deps.imports.uploadsDir, `${crypto.randomUUID()}.upload`);
      const bytes = await storeUpload(c.req.raw.body, file, deps.limits.maxUploadBytes);
      const mapping = Object.fromEntries(Object.entries({ id: q.id_field, title: q.title_field, text: q.text_field, labels: q.labels_field, labelSeparator: q.label_separator }).filter(([, v]) => v !== undefined));
      const job = await createImportJob(deps.db, collection.id, { file, format, mapping, bytes, bytesRead: 0, progress: { done: 0, failed: 0, cursor: 0, created: 0, updated: 0, unchanged: 0 } });
      deps.imports.runner.enqueue(job.id);
      c.header('location', `/v1/jobs/${job.id}`);
      return c.json(jobView(job), 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/jobs/{id}', tags: ['imports'], summary: 'Job progress: done, failed, rate, ETA, errors by record number',
      request: { params: JobParams },
      responses: { 200: { content: { 'application/json': { schema: JobSchema } }, description: 'The job' }, ...authErrorResponses, 404: errorResponses[404] },
    }),
    async (c) => c.json(jobView(await getJob(deps.db, c.req.valid('param').id)), 200),
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/jobs/{id}', tags: ['imports'],
      summary: 'Cancel a queued or running job: it stops at the next batch boundary (documents already imported stay) and its upload is deleted',
      description: 'Answers the cancelled job. Cancelling a cancelled job again answers it unchanged; a completed or failed job answers 409.',
      request: { params: JobParams },
      responses: { 200: { content: { 'application/json': { schema: JobSchema } }, description: 'The cancelled job' }, ...authErrorResponses, 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => c.json(jobView(await deps.imports.runner.cancel(c.req.valid('param').id)), 200),
  );
}

/** Streams the request body to disk, never into memory; refuses (and removes) an upload past the limit. */
async function storeUpload(body: ReadableStream<Uint8Array>, file: string, maxBytes: number): Promise<number> {
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) done(new PayloadTooLargeError(`uploads are limited to ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>), limit, createWriteStream(file));
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  if (bytes === 0) {
    await rm(file, { force: true });
    throw new InvalidInputError('the upload is empty', [{ pointer: '/', detail: 'empty body' }]);
  }
  return bytes;
}
