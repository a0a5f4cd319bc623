import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/**
 * CORS for browser apps on other origins (`--cors-allow-origin`: `*` or a comma-separated list
 * of origins). Answers preflights itself, so it must run before auth: a preflight never carries
 * the Authorization header. No credentials mode: keys travel as bearer headers, not cookies.
 */
export function corsMiddleware(allowOrigin: string): MiddlewareHandler {
  const origins = allowOrigin.split(',').map((o) => o.trim()).filter(Boolean);
  return cors({
    origin: origins.includes('*') ? '*' : origins,
    allowHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposeHeaders: ['x-request-id', 'retry-after', 'www-authenticate', 'server-timing', 'content-disposition'],
    maxAge: 600,
  });
}
