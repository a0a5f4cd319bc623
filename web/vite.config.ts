import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The web app (issue 13): built into dist/web, which `biovec serve` hands out at / (src/webapp).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: resolve(import.meta.dirname, '..', 'dist', 'web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Everything as files under /assets: the page's Content-Security-Policy allows no inline code.
    assetsInlineLimit: 0,
  },
});
