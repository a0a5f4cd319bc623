import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';

/**
 * Catalog backends the suites run on: PGlite always (in memory, fresh per call), and a real
 * Postgres when TEST_DATABASE_URL is set (a fresh database per call, dropped afterwards).
 */
export const DATABASE_BACKENDS: ('pglite' | 'postgres')[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDatabase {
  handle: DatabaseHandle;
  /** The URL of the fresh database (Postgres only), for child processes. */
  url?: string;
  cleanup(): Promise<void>;
}

export async function openTestDatabase(backend: 'pglite' | 'postgres'): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const handle = await openDatabase({});
    await migrateDatabase(handle);
    return { handle, cleanup: () => handle.close() };
  }
  const admin = process.env.TEST_DATABASE_URL!;
  const name = `biovec_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString(), poolSize: 4 });
  await migrateDatabase(handle);
  return {
    handle,
    url: url.toString(),
    cleanup: async () => {
      await handle.close();
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
