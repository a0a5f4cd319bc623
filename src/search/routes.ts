import { createRoute } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, CollectionParams, errorResponses, jsonBodyErrorResponses } from '../http/common-schemas.js';
import { requireUtf8Body } from '../http/validation.js';
import { SearchRequestSchema, SearchResponseSchema } from './search-schemas.js';
import { searchDocuments } from './search-service.js';

export function registerSearchRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/collections/{name}/search', tags: ['search'], middleware: [requireUtf8Body],
      summary: 'k-NN search by text, vector or similar document; results grouped by document with the best chunk',
      request: { params: CollectionParams, body: { content: { 'application/json': { schema: SearchRequestSchema } }, required: true } },
      responses: { 200: { content: { 'application/json': { schema: SearchResponseSchema } }, description: 'Best documents first' }, ...authErrorResponses, ...jsonBodyErrorResponses, 404: errorResponses[404] },
    }),
    async (c) => c.json(await searchDocuments(deps, c.req.valid('param').name, c.req.valid('json'), c.req.raw.signal), 200),
  );
}
