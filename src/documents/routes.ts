import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, CollectionParams, DocumentParams, errorResponses, jsonBodyErrorResponses, registerSharedSchemas } from '../http/common-schemas.js';
import { DocumentInputSchema, DocumentSchema, IngestResultSchema, PatchDocumentSchema } from './document-schemas.js';
import { ingestItems, patchDocument, readDocument, removeDocument } from './document-service.js';
import { parseDocumentsBody } from './parse-documents-body.js';
import { requireUtf8Body, validationHook } from '../http/validation.js';

export function registerDocumentRoutes(app: App, deps: AppDeps): void {
  registerSharedSchemas(app.openAPIRegistry);
  // Registered for the docs only and handled by a plain route: the body is parsed here, not
  // by the validator, so one bad document fails alone and NDJSON is accepted.
  app.openAPIRegistry.registerPath({
    method: 'post', path: '/v1/collections/{name}/documents', tags: ['documents'],
    summary: 'Add or update documents (JSON array or NDJSON); answers per document: created, updated, unchanged or failed',
    request: {
      params: CollectionParams,
      body: { content: { 'application/json': { schema: z.union([z.array(DocumentInputSchema).min(1), z.object({ documents: z.array(DocumentInputSchema).min(1) })]) }, 'application/x-ndjson': { schema: z.string().openapi({ description: 'one DocumentInput JSON object per line' }) } }, required: true },
    },
    responses: { 200: { content: { 'application/json': { schema: IngestResultSchema } }, description: 'Per-document outcome; an id given twice is failed the second time' }, ...authErrorResponses, ...jsonBodyErrorResponses, 404: errorResponses[404], 409: errorResponses[409] },
  });
  app.post('/v1/collections/:name/documents', async (c) => {
    const params = CollectionParams.safeParse({ name: c.req.param('name') });
    if (!params.success) return validationHook({ success: false, error: params.error, target: 'param' }, c)!;
    const items = parseDocumentsBody(await c.req.arrayBuffer(), c.req.header('content-type') ?? '', deps.limits.maxDocumentsPerRequest);
    return c.json(await ingestItems(deps, params.data.name, items, c.req.raw.signal), 200);
  });

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/collections/{name}/documents/{id}', tags: ['documents'], summary: 'Get a document with its chunks',
      request: { params: DocumentParams, query: z.object({ include: z.enum(['vectors']).optional() }) },
      responses: { 200: { content: { 'application/json': { schema: DocumentSchema } }, description: 'The document' }, ...authErrorResponses, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { name, id } = c.req.valid('param');
      return c.json(await readDocument(deps, name, id, c.req.valid('query').include === 'vectors'), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch', path: '/v1/collections/{name}/documents/{id}', tags: ['documents'], middleware: [requireUtf8Body], summary: 'Change title, text, metadata (merged) or labels; re-embeds only when the text changes',
      request: { params: DocumentParams, body: { content: { 'application/json': { schema: PatchDocumentSchema } }, required: true } },
      responses: { 200: { content: { 'application/json': { schema: z.object({ id: z.string(), status: z.enum(['updated', 'unchanged']), chunks: z.number().int() }) } }, description: 'Outcome' }, ...authErrorResponses, ...jsonBodyErrorResponses, 404: errorResponses[404] },
    }),
    async (c) => {
      const { name, id } = c.req.valid('param');
      const outcome = await patchDocument(deps, name, id, c.req.valid('json'));
      return c.json({ id, status: outcome.status === 'unchanged' ? 'unchanged' as const : 'updated' as const, chunks: outcome.embeddedChunks }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/collections/{name}/documents/{id}', tags: ['documents'], summary: 'Delete a document and its vectors',
      request: { params: DocumentParams },
      responses: { 204: { description: 'Deleted' }, ...authErrorResponses, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { name, id } = c.req.valid('param');
      await removeDocument(deps, name, id);
      return c.body(null, 204);
    },
  );
}
