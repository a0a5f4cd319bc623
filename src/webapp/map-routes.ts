import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import { getCollection } from '../catalog/collections.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, CollectionParams, errorResponses, queryInteger } from '../http/common-schemas.js';
import { collectionMap, MAX_MAP_SAMPLE } from './map-service.js';

const MapParams = z.object({
  sample: queryInteger(1, MAX_MAP_SAMPLE).default(2000).describe(`Documents to place at most (1-${MAX_MAP_SAMPLE}); a bigger collection is sampled (deterministically)`),
  color_by: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/).default('labels').describe('`labels` (a document\'s first label) or a metadata key whose value colours the point'),
});

const MapResponse = z
  .object({
    method: z.enum(['pca']),
    color_by: z.string(),
    documents: z.number().int().describe('Documents with vectors in the collection'),
    sampled: z.number().int().describe('Documents placed on the map'),
    explained_variance: z.array(z.number()).describe('Share of the sample\'s variance along x and y'),
    groups: z.array(z.object({ name: z.string(), count: z.number().int() })).describe('Colour groups, largest first'),
    points: z.array(z.object({ id: z.string(), x: z.number(), y: z.number(), title: z.string().nullable(), group: z.string().nullable() })),
    cached: z.boolean().describe('Served from the cache (same collection version, documents, sample and colour field)'),
  })
  .openapi('CollectionMap');

/** GET /v1/collections/{name}/map: a 2-D PCA projection of the document vectors, for the web app's embedding map. */
export function registerMapRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'get', path: '/v1/collections/{name}/map', tags: ['search'], summary: 'A 2-D projection (PCA) of a collection\'s document vectors, sampled and cached, with a colour group per point',
      request: { params: CollectionParams, query: MapParams },
      responses: { 200: { content: { 'application/json': { schema: MapResponse } }, description: 'The map' }, ...authErrorResponses, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const q = c.req.valid('query');
      const collection = await getCollection(deps.db, name);
      return c.json(await collectionMap(deps.db, collection, { sample: q.sample, colorBy: q.color_by }), 200);
    },
  );
}
