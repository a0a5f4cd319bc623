import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { AppDeps } from './app-deps.js';
import { registerCollectionRoutes } from './collections/routes.js';
import { registerVersionRoutes } from './versions/version-routes.js';
import { registerDocumentRoutes } from './documents/routes.js';
import { registerEmbeddingRoutes } from './embeddings/routes.js';
import { registerHealthRoutes } from './health/routes.js';
import type { AppEnv } from './http/app-env.js';
import { corsMiddleware } from './http/cors.js';
import { registerDocsRoutes } from './http/docs-routes.js';
import { errorToResponse, problemResponse } from './http/problem.js';
import { matchedRouteKey } from './http/route-key.js';
import { validationHook } from './http/validation.js';
import { methodNotAllowed } from './http/method-not-allowed.js';
import { registerSearchRoutes } from './search/routes.js';
import { authMiddleware } from './auth/auth-middleware.js';
import { registerImportRoutes } from './imports/routes.js';
import { registerExportRoutes } from './exports/routes.js';
import { registerMapRoutes } from './webapp/map-routes.js';
import { registerOutboxStatusRoutes } from './webapp/outbox-routes.js';
import { registerTokenizerRoutes } from './webapp/tokenizer-routes.js';
import { registerWebAppRoutes } from './webapp/web-routes.js';

export const API_VERSION = '0.1.0';

const STREAMED_UPLOAD_ROUTE = 'POST /v1/collections/{name}/imports';

/**
 * The HTTP app: routes under /v1 plus the TEI/Ersilia-style endpoints, OpenAPI 3.1 at
 * /openapi.json generated from the route schemas, docs at /docs, problem+json errors.
 * Builds nothing itself: everything comes in `deps`.
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use('*', async (c, next) => {
    const requestId = c.req.header('x-request-id')?.slice(0, 128) || randomUUID();
    c.set('requestId', requestId);
    c.set('timings', {});
    const log = deps.logger.child({ requestId });
    c.set('logger', log);
    const started = performance.now();
    await next();
    c.header('x-request-id', requestId);
    const durationMs = Number((performance.now() - started).toFixed(1));
    log.info({ method: c.req.method, route: c.req.routePath, path: c.req.path, status: c.res.status, durationMs, ...c.get('timings') }, 'request');
    deps.metrics.httpDuration.observe({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) }, durationMs / 1000);
  });

  // Before auth: a browser's preflight carries no key, and is answered here without one.
  if (deps.corsAllowOrigin) app.use('*', corsMiddleware(deps.corsAllowOrigin));
  app.use('*', authMiddleware(deps.db, deps.auth));

  // Only the import route streams its body (to disk, with its own limit): decided by the
  // matched route, so a document whose id is `imports` gets the JSON limit like any other.
  const limitBody = bodyLimit({
    maxSize: deps.limits.maxBodyBytes,
    onError: (ctx) => problemResponse(ctx, 'payload-too-large', `request bodies are limited to ${deps.limits.maxBodyBytes} bytes; send large files to POST /v1/collections/{name}/imports`),
  });
  app.use('*', async (c, next) => (matchedRouteKey(c) === STREAMED_UPLOAD_ROUTE ? next() : limitBody(c, next)));

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.status;
      if (status === 400) return problemResponse(c, 'malformed', err.message || 'malformed request');
      if (status === 413) return problemResponse(c, 'payload-too-large', err.message);
      if (status === 415) return problemResponse(c, 'unsupported-media-type', 'send the body as application/json');
      return problemResponse(c, status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : status === 404 ? 'not-found' : 'internal', err.message);
    }
    return errorToResponse(c, err, (e) => (c.get('logger') ?? deps.logger).error({ err: e }, 'request failed'));
  });
  const wrongMethod = methodNotAllowed(() => app.routes);
  app.notFound((c) => wrongMethod(c) ?? problemResponse(c, 'not-found', `no route for ${c.req.method} ${c.req.path}; see /docs`));

  registerHealthRoutes(app, deps, { maxOutboxLagS: 300 });
  registerCollectionRoutes(app, deps);
  registerVersionRoutes(app, deps);
  registerDocumentRoutes(app, deps);
  registerSearchRoutes(app, deps);
  registerEmbeddingRoutes(app, deps);
  registerImportRoutes(app, deps);
  registerExportRoutes(app, deps);
  registerMapRoutes(app, deps);
  registerTokenizerRoutes(app, deps);
  registerOutboxStatusRoutes(app, deps);
  registerWebAppRoutes(app);

  app.get('/metrics', async (c) => c.body(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }));
  registerDocsRoutes(app, {
    openapi: '3.1.0',
    info: { title: 'biovec', version: API_VERSION, description: 'Biomedical text embeddings (eos1086: BioMed-RoBERTa CLS vectors) and semantic search. Errors are RFC 9457 problem+json.' },
  });
  return app;
}
