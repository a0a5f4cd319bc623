import type { Config } from '../config.js';
import { loadEmbedder, type LoadHooks } from '../embedding/load-embedder.js';
import type { OnnxEmbedder } from '../embedding/onnx-embedder.js';
import { createProgress, type Progress } from './progress.js';

/**
 * Download bars (plain lines, one per file, off a terminal) and conversion notes on stderr:
 * what `model pull` and `serve` show while a model is fetched. `stop()` ends unfinished bars.
 */
export function createLoadHooks(): LoadHooks & { stop(): void } {
  const bars = new Map<string, Progress>();
  return {
    onInfo: (message) => process.stderr.write(`biovec: ${message}\n`),
    onDownload: (p) => {
      let bar = bars.get(p.file);
      if (!bar) {
        bar = createProgress(`downloading ${p.file}`, { unit: 'bytes', shouldAnnounceEnd: true });
        if (p.totalBytes) bar.setTotal(p.totalBytes);
        bars.set(p.file, bar);
      }
      bar.update(p.receivedBytes);
      if (p.done) bar.stop();
    },
    stop() {
      for (const bar of bars.values()) bar.stop();
    },
  };
}

/** Loads the model with download progress and conversion notes on stderr. */
export async function loadEmbedderForCli(config: Config): Promise<OnnxEmbedder> {
  const hooks = createLoadHooks();
  try {
    return await loadEmbedder(config, hooks);
  } finally {
    hooks.stop();
  }
}
