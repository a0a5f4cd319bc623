import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { AppDeps } from '../app-deps.js';
import { listCollections } from '../catalog/collections.js';
import type { App } from '../http/app-env.js';
import { buildingView } from '../versions/version-service.js';
import { findMissingIndexes } from '../outbox/index-recovery.js';
import { authErrorResponses } from '../http/common-schemas.js';

/** Liveness, readiness (model, catalog, index, outbox lag) and facts about the served model. */
export function registerHealthRoutes(app: App, deps: AppDeps, opts: { maxOutboxLagS: number }): void {
  app.openapi(
    createRoute({ method: 'get', path: '/health', tags: ['operations'], summary: 'Alive', responses: { 200: { content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } }, description: 'The process serves requests' } } }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  const Checks = z.object({ status: z.enum(['ready', 'not-ready']), checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })) });
  app.openapi(
    createRoute({ method: 'get', path: '/ready', tags: ['operations'], summary: 'Ready: model loaded, catalog and index reachable, outbox lag under its bound', responses: { 200: { content: { 'application/json': { schema: Checks } }, description: 'Ready' }, 503: { content: { 'application/json': { schema: Checks } }, description: 'Not ready; checks say why' } } }),
    async (c) => {
      const checks: Record<string, { ok: boolean; detail?: string }> = { model: { ok: deps.embedder.info.dims > 0 } };
      const attempt = async (name: string, fn: () => Promise<string | undefined>) => {
        try {
          const detail = await withTimeout(fn(), 3000);
          checks[name] = detail === undefined ? { ok: true } : { ok: false, detail };
        } catch (err) {
          checks[name] = { ok: false, detail: err instanceof Error ? err.message.slice(0, 200) : 'failed' };
        }
      };
      await attempt('catalog', async () => { await deps.db.execute(sql`select 1`); return undefined; });
      // Reachable is not enough: an index collection lost behind biovec's back would make search
      // answer 503 for its collection until the outbox worker has rebuilt it (issue 11).
      await attempt('index', async () => {
        await deps.index.collectionInfo('__readiness_probe__');
        const missing = await findMissingIndexes(deps.db, deps.index);
        return missing.length === 0 ? undefined : `index collection missing for ${missing.map((c) => c.name).join(', ')} (being rebuilt from the catalog)`;
      });
      await attempt('outbox', async () => {
        const lag = await deps.worker.lagSeconds();
        return lag > opts.maxOutboxLagS ? `oldest unapplied change is ${lag.toFixed(0)} s old (bound ${opts.maxOutboxLagS} s)` : undefined;
      });
      const ready = Object.values(checks).every((x) => x.ok);
      return c.json({ status: ready ? ('ready' as const) : ('not-ready' as const), checks }, ready ? 200 : 503);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/info', tags: ['operations'], summary: 'Model, revision, pooling, dims and versions', responses: { 200: { content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } }, description: 'Facts' }, ...authErrorResponses } }),
    async (c) => {
      const m = deps.embedder.info;
      // Each collection's version in use (its model may differ from the served one after a
      // switch) and a re-index in progress.
      const collections: Record<string, unknown> = {};
      for (const record of await listCollections(deps.db)) {
        collections[record.name] = { version: record.version, model: record.modelId, dims: record.dims, building: await buildingView(deps.db, record) };
      }
      return c.json({ model: { id: m.modelId, revision: m.revision ?? null, architecture: m.architecture, pooling: m.pooling, normalize: m.normalize, dims: m.dims, max_tokens: m.maxTokens, weights: m.weights, tokenizer: m.tokenizer }, ...deps.info, collections }, 200);
    },
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}
