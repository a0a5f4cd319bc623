import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { UpstreamUnavailableError } from '../lib/errors.js';
import * as schema from './schema.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… to use a Postgres server; absent means PGlite. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; absent means in memory (tests). */
  pgliteDir?: string | undefined;
  /** Postgres pool size. */
  poolSize?: number;
  /** How long a query waits for a pooled connection before failing with UpstreamUnavailableError. */
  connectionTimeoutMs?: number;
}

/**
 * A pool whose connection failures (pool exhausted past the timeout, server down, refused)
 * are UpstreamUnavailableError: an unavailable dependency is a 503, not a 500 (issue 10).
 * pg's Pool.query goes through connect(), as do drizzle's transactions.
 */
class CatalogPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    const unavailable = (err: unknown) => new UpstreamUnavailableError('the database is unavailable (no connection within the timeout); retry shortly', { cause: err });
    if (callback) return super.connect((err, client, done) => callback(err ? unavailable(err) : undefined, client, done));
    return super.connect().catch((err: unknown) => {
      throw unavailable(err);
    });
  }
}

/** Opens the catalog: Postgres through `pg` when a URL is given, else PGlite in process. */
export async function openDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  if (opts.databaseUrl) {
    const pool = new CatalogPool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10, connectionTimeoutMillis: opts.connectionTimeoutMs ?? 10_000 });
    // An idle pooled connection the server ends (a restart, a failover, pg_terminate_backend) is
    // an 'error' event on the pool: without a listener it would crash the process (it did: a
    // `biovec worker --embed`, issue 16). The pool drops that client; the next query connects anew.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      client.release();
    } catch (err) {
      await pool.end();
      const reason = err instanceof UpstreamUnavailableError && err.cause instanceof Error ? err.cause.message : (err as Error).message;
      throw new UpstreamUnavailableError(`cannot connect to the database at ${redactUrl(opts.databaseUrl)}: ${reason}`, { cause: err });
    }
    return { db: drizzlePg(pool, { schema, casing: 'snake_case' }) as unknown as Database, kind: 'postgres', close: () => pool.end() };
  }
  if (opts.pgliteDir) await mkdir(opts.pgliteDir, { recursive: true });
  const client = opts.pgliteDir ? new PGlite(opts.pgliteDir) : new PGlite();
  await client.waitReady;
  return { db: drizzlePglite(client, { schema, casing: 'snake_case' }) as unknown as Database, kind: 'pglite', close: () => client.close() };
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
