import type { MiddlewareHandler } from 'hono';
import type { Database } from '../db/client.js';
import type { AppEnv } from '../http/app-env.js';
import { problemResponse } from '../http/problem.js';
import { countActiveKeys, scopeAllows, verifyToken, type ApiKeyRecord, type Scope } from './api-keys.js';
import { RateLimiter } from './rate-limiter.js';
import { PUBLIC_PATHS, requiredScope } from './route-scopes.js';

const CACHE_MS = 30_000;

/**
 * Bearer-token auth with scopes and per-key rate limits. Active once any key exists (checked
 * every 30 s, so a key made with `biovec keys create` takes effect without a restart);
 * verified tokens are cached for 30 s, which bounds how long a revoked key keeps working.
 */
export function authMiddleware(db: Database): MiddlewareHandler<AppEnv> {
  const limiter = new RateLimiter();
  const verified = new Map<string, { key: ApiKeyRecord | undefined; at: number }>();
  let enabled = { value: false, at: 0 };
  const isEnabled = async () => {
    if (Date.now() - enabled.at > CACHE_MS) enabled = { value: (await countActiveKeys(db)) > 0, at: Date.now() };
    return enabled.value;
  };
  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path) || !(await isEnabled())) return next();
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) {
      return problemResponse(c, 'unauthorized', 'send an API key as "Authorization: Bearer <key>" (create one with `biovec keys create`)', {}, { 'www-authenticate': 'Bearer' });
    }
    let entry = verified.get(token);
    if (!entry || Date.now() - entry.at > CACHE_MS) {
      entry = { key: await verifyToken(db, token), at: Date.now() };
      verified.set(token, entry);
    }
    const key = entry.key;
    if (!key) return problemResponse(c, 'unauthorized', 'this API key is not valid (unknown or revoked)', {}, { 'www-authenticate': 'Bearer error="invalid_token"' });
    const needed: Scope = requiredScope(c.req.method, c.req.path);
    if (!scopeAllows(key.scope as Scope, needed)) {
      return problemResponse(c, 'forbidden', `this request needs the ${needed} scope; key ${key.prefix} has ${key.scope}`);
    }
    const waitS = limiter.take(key.prefix, key.rateLimitPerMinute);
    if (waitS > 0) return problemResponse(c, 'overloaded', `key ${key.prefix} is over its limit of ${key.rateLimitPerMinute} requests a minute`, {}, { 'retry-after': String(waitS) });
    return next();
  };
}
