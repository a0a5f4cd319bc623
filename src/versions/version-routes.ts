import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses, CollectionParams, errorResponses, jsonBodyErrorResponses, queryInteger, storableString } from '../http/common-schemas.js';
import { requireUtf8Body } from '../http/validation.js';
import { createVersion, dropVersion, listCollectionVersions, switchVersion } from './version-service.js';
import { VersionSchema, versionView } from './version-view.js';

const CreateVersion = z
  .object({
    model: storableString({ notBlank: true }).max(512).optional().describe('Hub id or local directory the server can load; default: the served model'),
    revision: storableString({ notBlank: true }).max(256).optional().describe('Hub revision (branch, tag or commit); default main'),
    pooling: z.enum(['auto', 'cls', 'mean']).optional().describe("auto: the model's own (sentence-transformers config), else cls"),
    normalize: z.boolean().optional(),
    max_length: z.number().int().min(0).max(8192).optional().describe("Tokens per chunk, special tokens included; 0 or omitted: the model's limit"),
    quantize: z.enum(['none', 'int8']).optional(),
    prompts: z.object({ query: storableString().max(512).optional(), document: storableString().max(512).optional() }).strict().optional()
      .describe("Text put before queries and before document chunks ('' for none); omitted: the model's own"),
    chunk_overlap: z.number().int().min(0).max(256).optional().describe("Tokens shared by consecutive chunks; default: the collection's"),
  })
  .strict()
  .openapi('CreateCollectionVersion');

const VersionParams = CollectionParams.extend({
  version: queryInteger(1, 2_147_483_647).openapi({ param: { name: 'version', in: 'path' }, type: 'integer', minimum: 1, maximum: 2_147_483_647, example: 2 }),
});

const Accepted = z.object({ version: VersionSchema, job: z.object({ id: z.string(), status: z.string() }) }).openapi('CollectionVersionAccepted');
const Switched = z
  .object({
    collection: z.string(),
    version: z.number().int().describe('The version now current'),
    stale: z.number().int().describe('Documents changed since this version was last current: absent from its searches until the catch-up job re-embeds them'),
    job_id: z.string().nullable().describe('The catch-up job (null when nothing is stale)'),
  })
  .openapi('CollectionVersionSwitched');

/** Collection versions: re-index into another model configuration, switch, switch back, drop. */
export function registerVersionRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/collections/{name}/versions', tags: ['collections'], middleware: [requireUtf8Body],
      summary: 'Start re-indexing the collection into a new version bound to another model configuration (searches keep using the current version until it is complete, then switch)',
      request: { params: CollectionParams, body: { content: { 'application/json': { schema: CreateVersion } }, required: true } },
      responses: { 202: { content: { 'application/json': { schema: Accepted } }, description: 'The version (building) and its re-index job' }, ...authErrorResponses, ...jsonBodyErrorResponses, 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const b = c.req.valid('json');
      const { version, job } = await createVersion(deps, name, {
        model: b.model, revision: b.revision, pooling: b.pooling, normalize: b.normalize, maxLength: b.max_length, quantize: b.quantize,
        queryPrefix: b.prompts?.query, documentPrefix: b.prompts?.document, chunkOverlap: b.chunk_overlap,
      });
      deps.imports.runner.notify();
      c.header('Location', `/v1/jobs/${job.id}`);
      return c.json({ version: versionView({ record: version, isCurrent: false }), job: { id: job.id, status: job.status } }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/collections/{name}/versions', tags: ['collections'], summary: "List the collection's versions (the current one, a building one with its progress, old ones kept for switching back)",
      request: { params: CollectionParams },
      responses: { 200: { content: { 'application/json': { schema: z.object({ current: z.number().int(), versions: z.array(VersionSchema) }) } }, description: 'Versions, oldest first' }, ...authErrorResponses, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { collection, versions } = await listCollectionVersions(deps.db, c.req.valid('param').name);
      return c.json({ current: collection.version, versions: versions.map(versionView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/collections/{name}/versions/{version}/switch', tags: ['collections'],
      summary: 'Switch the collection to a ready version at once (e.g. back to the previous model); documents changed since it was current are re-embedded by a catch-up job',
      request: { params: VersionParams },
      responses: { 200: { content: { 'application/json': { schema: Switched } }, description: 'Switched (or already current)' }, ...authErrorResponses, 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      const out = await switchVersion(deps.db, name, version);
      deps.worker.notify();
      if (out.job) deps.imports.runner.notify();
      return c.json({ collection: name, version: out.collection.version, stale: out.stale, job_id: out.job?.id ?? null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/collections/{name}/versions/{version}', tags: ['collections'],
      summary: 'Drop a version that is not the current one: its vectors, its index collection, and its re-index if it is building',
      request: { params: VersionParams },
      responses: { 204: { description: 'Dropped' }, ...authErrorResponses, 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      await dropVersion(deps.db, name, version);
      deps.worker.notify();
      return c.body(null, 204);
    },
  );
}
