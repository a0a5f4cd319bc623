import pg from 'pg';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.js';

describe.skipIf(!process.env.TEST_DATABASE_URL)(`Postgres pool ${process.env.TEST_DATABASE_URL ? '' : '(skipped: needs TEST_DATABASE_URL)'}`, () => {
  it('survives the server ending an idle pooled connection, and the next query connects anew', async () => {
    const db = await openTestDatabase('postgres');
    try {
      const { pid } = ((await db.handle.db.execute(sql`select pg_backend_pid() as pid`)) as unknown as { rows: { pid: number }[] }).rows[0]!;
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await admin.end();
      // The idle client's error arrives asynchronously; without a pool listener it is thrown.
      await new Promise((r) => setTimeout(r, 200));
      const { n } = ((await db.handle.db.execute(sql`select 1 as n`)) as unknown as { rows: { n: number }[] }).rows[0]!;
      expect(n).toBe(1);
    } finally {
      await db.cleanup();
    }
  });
});
