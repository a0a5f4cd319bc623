import { join } from 'node:path';
import type { Config } from '../config.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { ConflictError } from '../lib/errors.js';
import { openStores, type Stores } from '../stores.js';
import { lockOwner } from '../vectors/adapters/embedded/process-lock.js';
import { loadEmbedderForCli } from './load-for-cli.js';

type StoreConfig = Pick<Config, 'dataDir' | 'databaseUrl' | 'qdrantUrl'>;

/**
 * Refuses, before anything is opened or loaded, when a running server (or another command)
 * owns the embedded stores under the data dir. The embedded index is locked; the PGlite
 * catalog is not, but its owner holds the index lock beside it, and a second process opening
 * PGlite's files would corrupt them.
 */
export async function checkStoresFree(config: StoreConfig, needs: { index: boolean }): Promise<void> {
  const isIndexEmbedded = !config.qdrantUrl;
  const isCatalogEmbedded = !config.databaseUrl;
  if (!isCatalogEmbedded && !(needs.index && isIndexEmbedded)) return;
  const indexDir = join(config.dataDir, 'index');
  const owner = await lockOwner(join(indexDir, 'LOCK'));
  if (owner === undefined) return;
  if (needs.index && isIndexEmbedded) {
    throw new ConflictError(`a biovec server (pid ${owner}) holds the embedded index at ${indexDir}; stop it or use the API (or share stores between processes: DATABASE_URL and QDRANT_URL)`);
  }
  throw new ConflictError(`a biovec server (pid ${owner}) holds the embedded catalog at ${join(config.dataDir, 'catalog')} (PGlite: one process at a time); stop it, or use Postgres (DATABASE_URL) to run this while it serves`);
}

/** Opens the configured catalog and index for one command and closes them afterwards. */
export async function withStores<T>(config: Config, work: (stores: Stores) => Promise<T>): Promise<T> {
  await checkStoresFree(config, { index: true });
  const stores = await openStores(config);
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** Opens only the catalog (`keys`: no index needed), so a server holding the embedded index does not block it. */
export async function withCatalog<T>(config: Config, work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
  await checkStoresFree(config, { index: false });
  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: config.databaseUrl ? undefined : join(config.dataDir, 'catalog') });
  try {
    await migrateDatabase(database);
    return await work(database);
  } finally {
    await database.close();
  }
}

/** Opens the stores, then loads the model (a locked store fails fast), closing both afterwards. */
export async function withModelAndStores<T>(config: Config, work: (embedder: Awaited<ReturnType<typeof loadEmbedderForCli>>, stores: Stores) => Promise<T>): Promise<T> {
  return withStores(config, async (stores) => {
    const embedder = await loadEmbedderForCli(config);
    try {
      return await work(embedder, stores);
    } finally {
      await embedder.close();
    }
  });
}
