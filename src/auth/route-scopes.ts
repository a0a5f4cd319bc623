import type { Scope } from './api-keys.js';

export type RouteAccess = Scope | 'public';

/**
 * The scope each operation needs, keyed by method and route template: reading and computing
 * (search, embeddings, exports) need `read`; changing documents, imports, jobs and collections
 * `write`; deleting a collection `admin`. The liveness/readiness probes are public: orchestrators
 * call them without credentials and they expose no data; so are the docs (see below). A test checks that every operation in
 * the OpenAPI spec has a row; a routed operation without one needs `admin` (fails closed).
 */
export const ROUTE_SCOPES: Readonly<Record<string, RouteAccess>> = {
  'GET /health': 'public',
  'GET /ready': 'public',
  'GET /info': 'read',
  'GET /metrics': 'read',
  // The docs page, its assets and the spec describe the API and hold no data. They must be
  // public for Swagger UI to work at all: it fetches the spec before the user can authorize,
  // and the "Authorize" button comes from the spec's securitySchemes.
  // The web app's page and assets (issue 13) hold no data either: the page asks for a key and
  // sends it on every API call it makes.
  'GET /': 'public',
  'GET /assets/{file}': 'public',
  'GET /docs': 'public',
  'GET /docs/assets/{file}': 'public',
  'GET /openapi.json': 'public',
  'GET /v1/collections': 'read',
  'POST /v1/collections': 'write',
  'GET /v1/collections/{name}': 'read',
  'DELETE /v1/collections/{name}': 'admin',
  // Re-indexing loads a model the request names (a hub id or a server directory) and spends
  // hours of embedding; dropping a version deletes vectors: admin, like deleting a collection.
  'GET /v1/collections/{name}/versions': 'read',
  'POST /v1/collections/{name}/versions': 'admin',
  'POST /v1/collections/{name}/versions/{version}/switch': 'admin',
  'DELETE /v1/collections/{name}/versions/{version}': 'admin',
  'POST /v1/collections/{name}/documents': 'write',
  'GET /v1/collections/{name}/documents/{id}': 'read',
  'PATCH /v1/collections/{name}/documents/{id}': 'write',
  'DELETE /v1/collections/{name}/documents/{id}': 'write',
  'POST /v1/collections/{name}/search': 'read',
  'GET /v1/collections/{name}/export': 'read',
  'POST /v1/collections/{name}/imports': 'write',
  'GET /v1/jobs/{id}': 'read',
  'DELETE /v1/jobs/{id}': 'write',
  'POST /v1/embeddings': 'read',
  'POST /embed': 'read',
  'POST /run': 'read',
  'GET /v1/models': 'read',
  'POST /': 'read',
  'POST /tokenize': 'read',
  'POST /decode': 'read',
  'POST /embed_all': 'read',
  'GET /card': 'read',
  'GET /v1/tokenizer': 'read',
  'GET /v1/collections/{name}/map': 'read',
  'GET /v1/outbox': 'read',
};

/**
 * What a request needs, from the route it was matched to (see matchedRouteKey). No route
 * (a 404 to be) needs any valid key, so the route table cannot be probed anonymously.
 */
export function requiredAccess(routeKey: string | undefined): RouteAccess {
  if (routeKey === undefined) return 'read';
  return ROUTE_SCOPES[routeKey] ?? 'admin';
}
