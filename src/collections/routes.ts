import { createRoute, z } from '@hono/zod-openapi';
import { dropCollectionRecord, ensureCollectionRecord, getCollection, listCollections } from '../catalog/collections.js';
import { countDocuments } from '../catalog/documents.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, CollectionParams, errorResponses, jsonBodyErrorResponses } from '../http/common-schemas.js';
import { requireUtf8Body } from '../http/validation.js';
import { defaultChunkOverlap, type AppDeps } from '../app-deps.js';
import { buildingView } from '../versions/version-service.js';
import { CollectionSchema, collectionView } from './collection-view.js';

const CreateCollection = z
  .object({
    name: CollectionParams.shape.name,
    distance: z.enum(['cosine', 'dot', 'euclid']).default('cosine'),
    chunk_overlap: z.number().int().min(0).max(256).optional().describe('Tokens shared by consecutive chunks of a long document (default 32, less for short-window models)'),
  })
  .openapi('CreateCollection');

export function registerCollectionRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/collections', tags: ['collections'], middleware: [requireUtf8Body], summary: 'Create a collection bound to the served model (idempotent for the same settings)',
      request: { body: { content: { 'application/json': { schema: CreateCollection } }, required: true } },
      responses: { 201: { content: { 'application/json': { schema: CollectionSchema } }, description: 'Created, or already there with the same settings' }, ...authErrorResponses, ...jsonBodyErrorResponses, 409: errorResponses[409] },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const record = await ensureCollectionRecord(deps.db, deps.collectionConfig(body.name, { distance: body.distance, chunkOverlap: body.chunk_overlap ?? defaultChunkOverlap(deps.embedder) }));
      return c.json(collectionView(record, await countDocuments(deps.db, record)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/collections', tags: ['collections'], summary: 'List collections',
      responses: { 200: { content: { 'application/json': { schema: z.object({ collections: z.array(CollectionSchema) }) } }, description: 'All collections' }, ...authErrorResponses },
    }),
    async (c) => {
      const rows = await listCollections(deps.db);
      return c.json({ collections: await Promise.all(rows.map(async (r) => collectionView(r, await countDocuments(deps.db, r)))) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/collections/{name}', tags: ['collections'], summary: 'Get a collection', request: { params: CollectionParams },
      responses: { 200: { content: { 'application/json': { schema: CollectionSchema } }, description: 'The collection' }, ...authErrorResponses, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const record = await getCollection(deps.db, c.req.valid('param').name);
      return c.json(collectionView(record, await countDocuments(deps.db, record), await buildingView(deps.db, record)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/collections/{name}', tags: ['collections'], summary: 'Delete a collection, its documents and its vectors', request: { params: CollectionParams },
      responses: { 204: { description: 'Deleted' }, ...authErrorResponses, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      await dropCollectionRecord(deps.db, c.req.valid('param').name);
      deps.worker.notify();
      return c.body(null, 204);
    },
  );
}
