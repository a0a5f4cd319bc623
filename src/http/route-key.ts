import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

/**
 * The operation a request was routed to, as `METHOD /template` in OpenAPI form
 * (`PATCH /v1/collections/{name}/documents/{id}`), or undefined when no route handles it.
 * Middleware sees it before the handler runs: it is the first matched route that is not
 * middleware (`app.use` registers method ALL). Decisions keyed by it (scopes, body limits)
 * follow the router, so a document whose id is `search` or `imports` is still a document.
 */
export function matchedRouteKey(c: Context): string | undefined {
  const route = matchedRoutes(c).find((r) => r.method !== 'ALL');
  return route ? `${route.method} ${openApiPath(route.path)}` : undefined;
}

/** Hono's `/a/:name` (optionally `:name{regex}`) as OpenAPI's `/a/{name}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}
