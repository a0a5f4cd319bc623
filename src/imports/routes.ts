import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import { getCollection } from '../catalog/collections.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, CollectionParams, errorResponses, storableString } from '../http/common-schemas.js';
import { InvalidInputError } from '../lib/errors.js';
import type { UploadStorage } from '../storage/upload-storage.js';
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
      const upload = `${crypto.randomUUID()}.upload`;
      const bytes = await storeUpload(deps.imports.storage, upload, c.req.raw.body, deps.limits.maxUploadBytes);
      const mapping = Object.fromEntries(Object.entries({ id: q.id_field, title: q.title_field, text: q.text_field, labels: q.labels_field, labelSeparator: q.label_separator }).filter(([, v]) => v !== undefined));
      const job = await createImportJob(deps.db, collection.id, { upload, format, mapping, bytes, bytesRead: 0, progress: { cursor: 0 } });
      // Any process may claim it (this one is woken now); the upload is in storage they all reach.
      deps.imports.runner.notify();
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
      summary: 'Cancel a queued or running job: its batches stop (documents already imported stay) and its upload is deleted',
      description: 'Answers the cancelled job. Cancelling a cancelled job again answers it unchanged; a completed or failed job answers 409.',
      request: { params: JobParams },
      responses: { 200: { content: { 'application/json': { schema: JobSchema } }, description: 'The cancelled job' }, ...authErrorResponses, 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => c.json(jobView(await deps.imports.runner.cancel(c.req.valid('param').id)), 200),
  );
}

/** Streams the request body into upload storage, never into memory; refuses (and removes) an upload past the limit or empty. */
async function storeUpload(storage: UploadStorage, key: string, body: ReadableStream<Uint8Array>, maxBytes: number): Promise<number> {
  const bytes = await storage.put(key, Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>), { maxBytes });
  if (bytes === 0) {
    await storage.remove(key);
    throw new InvalidInputError('the upload is empty', [{ pointer: '/', detail: 'empty body' }]);
  }
  return bytes;
}
