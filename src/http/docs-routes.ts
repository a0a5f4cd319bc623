import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { ROUTE_SCOPES } from '../auth/route-scopes.js';
import type { AppEnv } from './app-env.js';

type Document = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;
type DocumentConfig = Parameters<OpenAPIHono<AppEnv>['getOpenAPI31Document']>[0];

const require = createRequire(import.meta.url);
// Swagger UI ships with the package (pinned in package.json), so /docs works offline (issue 12).
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_VERSION = (require('swagger-ui-dist/package.json') as { version: string }).version;
const SECURITY_SCHEME = 'biovecKey';

// No inline script, so a Content-Security-Policy of script-src 'self' keeps the page working.
// validatorUrl null: Swagger UI would otherwise fetch a badge from validator.swagger.io.
const INIT_JS = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout' });\n`;
const INIT_VERSION = createHash('sha256').update(INIT_JS).digest('hex').slice(0, 12);

const ASSETS: Readonly<Record<string, { type: string; version: string; read: () => Promise<Uint8Array<ArrayBuffer> | string> }>> = {
  'swagger-ui.css': fromPackage('swagger-ui.css', 'text/css; charset=utf-8'),
  'swagger-ui-bundle.js': fromPackage('swagger-ui-bundle.js', 'text/javascript; charset=utf-8'),
  'favicon-32x32.png': fromPackage('favicon-32x32.png', 'image/png'),
  'init.js': { type: 'text/javascript; charset=utf-8', version: INIT_VERSION, read: async () => INIT_JS },
};

function fromPackage(file: string, type: string) {
  return { type, version: SWAGGER_VERSION, read: async () => new Uint8Array(await readFile(join(SWAGGER_DIR, file))) };
}

const asset = (name: string) => `/docs/assets/${name}?v=${ASSETS[name]!.version}`;
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>biovec API</title>
  <link rel="stylesheet" href="${asset('swagger-ui.css')}">
  <link rel="icon" type="image/png" href="${asset('favicon-32x32.png')}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${asset('swagger-ui-bundle.js')}"></script>
  <script src="${asset('init.js')}"></script>
</body>
</html>
`;

/**
 * The spec with a bearer scheme, and `security` on each operation that needs a key (every
 * row of ROUTE_SCOPES but the public ones, so a new route is secured unless marked public):
 * Swagger UI's "Authorize" then sends the key, and clients generated from the spec know it.
 */
export function withSecurity(doc: Document): Document {
  doc.components = {
    ...doc.components,
    securitySchemes: { [SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'biovec key', description: 'An API key from `biovec keys create` (read, write or admin scope)' } },
  };
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const op = item?.[method];
      if (op && ROUTE_SCOPES[`${method.toUpperCase()} ${path}`] !== 'public') op.security = [{ [SECURITY_SCHEME]: [] }];
    }
  }
  return doc;
}

/**
 * /openapi.json, the Swagger UI page at /docs with its assets under /docs/assets (served from
 * swagger-ui-dist, cached for a year: their URLs carry the version); GET / is the web app
 * (src/webapp). Register last: the spec covers the routes registered so far.
 */
export function registerDocsRoutes(app: OpenAPIHono<AppEnv>, config: DocumentConfig): void {
  let spec: Document | undefined;
  app.get('/openapi.json', (c) => c.json((spec ??= withSecurity(app.getOpenAPI31Document(config)))));
  app.get('/docs', (c) => c.html(PAGE));
  const cache = new Map<string, Uint8Array<ArrayBuffer> | string>();
  app.get('/docs/assets/:file', async (c) => {
    const name = c.req.param('file');
    const entry = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!entry) return c.notFound();
    let body = cache.get(name);
    if (body === undefined) cache.set(name, (body = await entry.read()));
    return c.body(body, 200, { 'content-type': entry.type, 'cache-control': 'public, max-age=31536000, immutable' });
  });
}
