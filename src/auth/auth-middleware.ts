import type { MiddlewareHandler } from 'hono';
import type { Database } from '../db/client.js';
import type { AppEnv } from '../http/app-env.js';
import { problemResponse } from '../http/problem.js';
import { matchedRouteKey } from '../http/route-key.js';
import { ActiveKeys, type ActiveKeysOptions } from './active-keys.js';
import { scopeAllows, type Scope } from './api-keys.js';
import { RateLimiter } from './rate-limiter.js';
import { requiredAccess } from './route-scopes.js';

export interface AuthPolicy {
  /**
   * Serve without credentials while no key is active: only for a loopback bind (the first-run
   * experience). Off the loopback every request but the probes needs a key, so revoking the
   * last key closes the API instead of opening it (issue 10).
   */
  isOpenWithoutKeys: boolean;
  keys?: ActiveKeysOptions;
}

/**
 * Bearer-token auth with scopes (by route template, see ROUTE_SCOPES) and per-key rate
 * limits. Keys are checked in memory against the active keys, reloaded every 30 s, which
 * bounds how long a revoked key keeps working and how long a new key takes to open an API
 * that had none.
 */
export function authMiddleware(db: Database, policy: AuthPolicy): MiddlewareHandler<AppEnv> {
  const limiter = new RateLimiter();
  const keys = new ActiveKeys(db, policy.keys);
  return async (c, next) => {
    const access = requiredAccess(matchedRouteKey(c));
    if (access === 'public') return next();
    if (policy.isOpenWithoutKeys && (await keys.count()) === 0) return next();
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) {
      return problemResponse(c, 'unauthorized', 'send an API key as "Authorization: Bearer <key>" (create one with `biovec keys create`)', {}, { 'www-authenticate': 'Bearer' });
    }
    const key = await keys.verify(token);
    if (!key) return problemResponse(c, 'unauthorized', 'this API key is not valid (unknown or revoked)', {}, { 'www-authenticate': 'Bearer error="invalid_token"' });
    if (!scopeAllows(key.scope as Scope, access)) {
      return problemResponse(c, 'forbidden', `this request needs the ${access} scope; key ${key.prefix} has ${key.scope}`);
    }
    const waitS = limiter.take(key.prefix, key.rateLimitPerMinute);
    if (waitS > 0) return problemResponse(c, 'overloaded', `key ${key.prefix} is over its limit of ${key.rateLimitPerMinute} requests a minute`, {}, { 'retry-after': String(waitS) });
    return next();
  };
}
