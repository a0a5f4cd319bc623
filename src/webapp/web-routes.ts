import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../http/app-env.js';

/**
 * Where `vite build` (web/vite.config.ts) writes the app: dist/web at the repository root,
 * the same path from src/webapp (tsx) and from dist/webapp (compiled).
 */
export const WEB_DIST_DIR = resolve(import.meta.dirname, '..', '..', 'dist', 'web');

// Everything the page loads comes from this origin (issue 13: works offline, nothing leaves the
// machine); the browser enforces it. No inline script or style attribute is used.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', woff2: 'font/woff2', map: 'application/json; charset=utf-8',
};

// What GET / says when the app was never built (a clone that skipped `npm ci`'s prepare).
const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>biovec</title></head>
<body><main><h1>biovec</h1><p>The web app is not built: run <code>npm run build:web</code> (or <code>npm ci</code>). The API docs are at <a href="/docs">/docs</a>.</p></main></body></html>
`;

/**
 * The literature-search app (issue 13) at GET /, its hashed assets under /assets (cached for a
 * year: a new build has new names), index.html revalidated on every load so a new build shows.
 */
export function registerWebAppRoutes(app: App, opts: { distDir?: string } = {}): void {
  const dir = opts.distDir ?? WEB_DIST_DIR;
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  const read = async (file: string) => {
    let body = cache.get(file);
    if (body === undefined) cache.set(file, (body = new Uint8Array(await readFile(join(dir, file)))));
    return body;
  };
  app.openapi(
    createRoute({
      method: 'get', path: '/', tags: ['operations'], summary: 'The literature-search web app (search, collections and imports, embedding map); API docs at /docs',
      responses: { 200: { description: 'The app\'s page', content: { 'text/html': { schema: z.string() } } } },
    }),
    async (c) => {
      const built = existsSync(join(dir, 'index.html'));
      const body = built ? await read('index.html') : NOT_BUILT;
      return c.body(body, 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' });
    },
  );
  app.get('/assets/:file', async (c) => {
    const name = c.req.param('file');
    const type = TYPES[name.split('.').at(-1) ?? ''];
    // Names only (no path separators or dot-dot): Vite's flat assets directory.
    if (!type || !/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.') || !existsSync(join(dir, 'assets', name))) return c.notFound();
    return c.body(await read(join('assets', name)), 200, { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' });
  });
}
