import type { Config } from '../config.js';
import { openStores, type Stores } from '../stores.js';
import { loadEmbedderForCli } from './load-for-cli.js';

/** Opens the configured catalog and index for one command and closes them afterwards. */
export async function withStores<T>(config: Config, work: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await openStores(config);
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** Loads the model and opens the stores for one command, closing both afterwards. */
export async function withModelAndStores<T>(config: Config, work: (embedder: Awaited<ReturnType<typeof loadEmbedderForCli>>, stores: Stores) => Promise<T>): Promise<T> {
  const embedder = await loadEmbedderForCli(config);
  try {
    return await withStores(config, (stores) => work(embedder, stores));
  } finally {
    await embedder.close();
  }
}
