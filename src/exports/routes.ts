import { PassThrough, Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import { getCollection } from '../catalog/collections.js';
import type { App } from '../http/app-env.js';
import { CollectionParams, errorResponses } from '../http/common-schemas.js';
import { countExportRows, exportFilter, openExport, type ExportQuery } from './export-service.js';

const ExportParams = z.object({
  format: z.enum(['csv', 'jsonl', 'npy', 'ids', 'parquet']).default('csv').describe('csv = Ersilia layout key,input,dim_000..; npy = float32 matrix, with format=ids as its row sidecar'),
  rows: z.enum(['document', 'chunk']).default('document'),
  pooling: z.enum(['first', 'mean']).default('first').describe('Per-document vector: the first chunk (eos1086) or the mean of chunks'),
  labels: z.string().optional().describe('Comma-separated: documents with any of these labels'),
  year_gte: z.coerce.number().int().optional(),
  year_lte: z.coerce.number().int().optional(),
  label_field: z.string().optional().describe('Name of the label column (CSV, ids, Parquet)'),
});

export function registerExportRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'get', path: '/v1/collections/{name}/export', tags: ['exports'], summary: 'Stream classification-ready vectors with labels (CSV, JSONL, NPY + ids sidecar, Parquet)',
      request: { params: CollectionParams, query: ExportParams },
      responses: { 200: { description: 'The export, streamed', content: { 'text/csv': { schema: z.string() }, 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } }, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const q = c.req.valid('query');
      const collection = await getCollection(deps.db, name);
      const filter = exportFilter({ labels: q.labels, yearGte: q.year_gte, yearLte: q.year_lte });
      const query: ExportQuery = { format: q.format, rows: q.rows, pooling: q.pooling, filter, labelField: q.label_field };
      const rows = await countExportRows(deps.db, collection, query);
      const sink = new PassThrough();
      const { contentType, extension, run } = openExport({ db: deps.db, collection, query, sink, rows });
      // Errors after the headers went out can only cut the stream short; they are logged.
      run().catch((err: unknown) => {
        c.get('logger').error({ err }, 'export failed mid-stream');
        sink.destroy(err as Error);
      });
      return new Response(Readable.toWeb(sink) as ReadableStream, {
        status: 200,
        headers: { 'content-type': contentType, 'content-disposition': `attachment; filename="${name}.${extension}"`, 'x-export-rows': String(rows) },
      });
    },
  );
}
