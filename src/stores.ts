import { join } from 'node:path';
import type { Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import { migrateDatabase } from './db/migrate.js';
import { EmbeddedIndex } from './vectors/adapters/embedded/embedded-index.js';
import type { TuningOptions } from './vectors/adapters/embedded/embedded-collection.js';
import { DEFAULT_AVG_DOC_LENGTH, QdrantIndex } from './vectors/adapters/qdrant-index.js';
import { DEFAULT_BM25 } from './lexical/bm25.js';
import type { VectorIndex } from './vectors/vector-index.js';

export interface Stores {
  database: DatabaseHandle;
  index: VectorIndex;
  /** 'postgres' | 'pglite', 'qdrant' | 'embedded': for /info and the startup line. */
  describe: { catalog: string; index: string };
  close(): Promise<void>;
}

/**
 * Opens the catalog and the vector index the configuration names (Postgres and Qdrant when
 * their URLs are set, else PGlite and the embedded index under the data dir) and applies
 * pending migrations.
 */
export async function openStores(config: Pick<Config, 'dataDir' | 'databaseUrl' | 'qdrantUrl' | 'qdrantApiKey' | 'qdrantTimeoutMs'> & Partial<Pick<Config, 'qdrantShardNumber' | 'qdrantReplicationFactor' | 'qdrantWriteConsistency' | 'lexicalK1' | 'lexicalB' | 'lexicalAvgDocLength'>>, opts: { migrate?: boolean; embeddedTuning?: Partial<TuningOptions> } = {}): Promise<Stores> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: config.databaseUrl ? undefined : join(config.dataDir, 'catalog') });
  try {
    if (opts.migrate !== false) await migrateDatabase(database);
    const bm25 = { k1: config.lexicalK1 ?? DEFAULT_BM25.k1, b: config.lexicalB ?? DEFAULT_BM25.b };
    const index: VectorIndex = config.qdrantUrl
      ? new QdrantIndex({
          url: config.qdrantUrl,
          apiKey: config.qdrantApiKey,
          timeoutMs: config.qdrantTimeoutMs,
          shardNumber: config.qdrantShardNumber || undefined,
          replicationFactor: config.qdrantReplicationFactor || undefined,
          writeConsistencyFactor: config.qdrantWriteConsistency || undefined,
          bm25: { ...bm25, avgDocLength: config.lexicalAvgDocLength ?? DEFAULT_AVG_DOC_LENGTH },
        })
      : await EmbeddedIndex.openAt(join(config.dataDir, 'index'), { bm25, ...opts.embeddedTuning });
    return {
      database,
      index,
      describe: { catalog: database.kind, index: config.qdrantUrl ? 'qdrant' : 'embedded' },
      close: async () => {
        await index.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
