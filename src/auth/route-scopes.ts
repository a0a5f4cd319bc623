import type { Scope } from './api-keys.js';

/** Probes that orchestrators call without credentials; they expose no data. */
export const PUBLIC_PATHS = new Set(['/health', '/ready']);

/**
 * The scope a request needs: reading and computing (search, embeddings) need `read`,
 * changing documents, imports and collections `write`, deleting a collection `admin`.
 */
export function requiredScope(method: string, path: string): Scope {
  if (method === 'DELETE' && /^\/v1\/collections\/[^/]+$/.test(path)) return 'admin';
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (/\/search$/.test(path) || path === '/v1/embeddings' || path === '/embed' || path === '/run') return 'read';
  return 'write';
}
