import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { HashEmbedder } from '../../src/embedding/adapters/hash-embedder.js';
import { silentLogger } from '../../src/lib/logger.js';
import { startServer } from '../../src/main.js';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * BIOVEC_APPLY_OUTBOX=false: a replica whose (embedded) index is not the one searches read must
 * leave the shared outbox to the process that applies it, or rows would land in the wrong index.
 */
describe.each(DATABASE_BACKENDS)('BIOVEC_APPLY_OUTBOX (%s)', (backend) => {
  let dataDir: string;
  let db: TestDatabase | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'biovec-apply-outbox-'));
    db = backend === 'postgres' ? await openTestDatabase('postgres') : undefined;
  });
  afterEach(async () => {
    await db?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = (applyOutbox: string) =>
    startServer(loadConfig({ BIOVEC_DATA_DIR: dataDir, BIOVEC_PORT: '0', BIOVEC_APPLY_OUTBOX: applyOutbox, ...(db ? { DATABASE_URL: db.url } : {}) }), { embedder: new HashEmbedder(32, 32), logger: silentLogger() });
  const backlog = async (url: string) => ((await (await fetch(`${url}/v1/outbox`)).json()) as { backlog: number }).backlog;

  it('false: a document written stays pending in the outbox, and the server still answers readiness and metrics; a server applying it drains it', async () => {
    const passive = await start('false');
    try {
      const res = await fetch(`${passive.url}/v1/collections/default/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ id: 'a', text: 'aspirin and platelets' }]) });
      expect(res.status).toBe(200);
      // An applying worker is woken by the write and would take the row within one round; give
      // it several polling intervals to show none runs.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await backlog(passive.url)).toBe(1);
      const ready = (await (await fetch(`${passive.url}/ready`)).json()) as { checks: Record<string, { ok: boolean }> };
      expect(ready.checks.catalog?.ok).toBe(true);
      expect(ready.checks.outbox).toBeDefined();
      const metrics = await (await fetch(`${passive.url}/metrics`)).text();
      expect(metrics).toMatch(/^biovec_outbox_backlog 1$/m);
    } finally {
      await passive.close();
    }
    // The row was only left, not lost: a server that applies the outbox takes it.
    const active = await start('true');
    try {
      for (let i = 0; i < 6000 && (await backlog(active.url)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await backlog(active.url)).toBe(0);
    } finally {
      await active.close();
    }
  });
});
