import type { Context } from 'hono';
import { problemResponse } from './problem.js';

interface RouteLike {
  method: string;
  path: string;
}

/**
 * For a request no route handled: a 405 with `Allow` when the path exists under other methods
 * (RFC 9110 §15.5.6), else undefined (a plain 404). `routes()` is read on first use, after
 * every route is registered.
 */
export function methodNotAllowed(routes: () => RouteLike[]): (c: Context) => Response | undefined {
  let table: { pattern: RegExp; methods: Set<string> }[] | undefined;
  const build = () => {
    const byPath = new Map<string, Set<string>>();
    for (const r of routes()) {
      if (r.method === 'ALL' || r.path.includes('*')) continue;
      const methods = byPath.get(r.path) ?? new Set<string>();
      methods.add(r.method);
      if (r.method === 'GET') methods.add('HEAD');
      byPath.set(r.path, methods);
    }
    return [...byPath].map(([path, methods]) => ({
      pattern: new RegExp(`^${path.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`),
      methods,
    }));
  };
  return (c) => {
    table ??= build();
    const allowed = new Set<string>();
    for (const { pattern, methods } of table) if (pattern.test(c.req.path)) for (const m of methods) allowed.add(m);
    if (allowed.size === 0 || allowed.has(c.req.method)) return undefined;
    const allow = [...allowed].sort().join(', ');
    return problemResponse(c, 'method-not-allowed', `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow}`, {}, { allow });
  };
}
