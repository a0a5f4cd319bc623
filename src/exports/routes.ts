import { PassThrough, Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import { getCollection } from '../catalog/collections.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, CollectionParams, errorResponses, queryInteger, storableString } from '../http/common-schemas.js';
import { countExportRows, exportFilter, openExport, type ExportQuery } from './export-service.js';

const ExportParams = z.object({
  format: z.enum(['csv', 'jsonl', 'npy', 'ids', 'parquet']).default('csv').describe('csv = Ersilia layout key,input,dim_000..; npy = float32 matrix, with format=ids as its row sidecar'),
  rows: z.enum(['document', 'chunk']).default('document'),
  pooling: z.enum(['first', 'mean']).default('first').describe('Per-document vector: the first chunk (eos1086) or the mean of chunks'),
  // Short enough that the URL stays within Node's 16 KiB header limit (beyond it: 431 and a reset).
  labels: storableString().max(4096).optional().describe('Comma-separated: documents with any of these labels'),
  // Bounded so that every documented value is accepted (beyond 2^53 a year is no longer an integer).
  year_gte: queryInteger(-1_000_000, 1_000_000).optional(),
  year_lte: queryInteger(-1_000_000, 1_000_000).optional(),
  label_field: storableString().min(1).max(256).optional().describe('Name of the label column (CSV, ids, Parquet)'),
});

export function registerExportRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'get', path: '/v1/collections/{name}/export', tags: ['exports'], summary: 'Stream classification-ready vectors with labels (CSV, JSONL, NPY + ids sidecar, Parquet)',
      request: { params: CollectionParams, query: ExportParams },
      responses: {
        200: {
          description: 'The export, streamed; the content type follows `format`',
          headers: { 'x-export-rows': { description: 'Rows the export holds', schema: { type: 'integer' } } },
          content: {
            'text/csv': { schema: z.string().openapi({ description: 'format=csv (key,input,dim_000..) or format=ids (the npy row sidecar)' }) },
            'application/x-ndjson': { schema: z.string().openapi({ description: 'format=jsonl: one JSON object a line' }) },
            'application/octet-stream': { schema: z.string().openapi({ format: 'binary', description: 'format=npy: a float32 matrix' }) },
            'application/vnd.apache.parquet': { schema: z.string().openapi({ format: 'binary', description: 'format=parquet' }) },
          },
        },
        ...authErrorResponses, 404: errorResponses[404], 422: errorResponses[422],
      },
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
