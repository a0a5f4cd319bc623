import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../app-deps.js';
import type { App } from '../http/app-env.js';
import { authErrorResponses } from '../http/common-schemas.js';

const OutboxStatus = z
  .object({
    backlog: z.number().int().describe('Catalog changes not yet applied to the vector index'),
    lag_s: z.number().describe('Seconds since the oldest unapplied change was written (0 when none)'),
  })
  .openapi('OutboxStatus');

/** GET /v1/outbox: how far the vector index is behind the catalog (the web app's collections page shows it). */
export function registerOutboxStatusRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'get', path: '/v1/outbox', tags: ['collections'], summary: 'Outbox lag: changes the vector index has not applied yet',
      responses: { 200: { content: { 'application/json': { schema: OutboxStatus } }, description: 'Backlog and lag' }, ...authErrorResponses },
    }),
    async (c) => {
      const [backlog, lag] = await Promise.all([deps.worker.backlog(), deps.worker.lagSeconds()]);
      return c.json({ backlog, lag_s: Number(lag.toFixed(1)) }, 200);
    },
  );
}
