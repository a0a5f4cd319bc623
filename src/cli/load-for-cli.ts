import type { Config } from '../config.js';
import { loadEmbedder } from '../embedding/load-embedder.js';
import type { OnnxEmbedder } from '../embedding/onnx-embedder.js';
import { createProgress, type Progress } from './progress.js';

/** Loads the model with download bars and conversion notes on stderr. */
export async function loadEmbedderForCli(config: Config): Promise<OnnxEmbedder> {
  const bars = new Map<string, Progress>();
  try {
    return await loadEmbedder(config, {
      onInfo: (message) => process.stderr.write(`biovec: ${message}\n`),
      onDownload: (p) => {
        let bar = bars.get(p.file);
        if (!bar) {
          bar = createProgress(`downloading ${p.file}`, { unit: 'bytes' });
          if (p.totalBytes) bar.setTotal(p.totalBytes);
          bars.set(p.file, bar);
        }
        bar.update(p.receivedBytes);
        if (p.done) bar.stop();
      },
    });
  } finally {
    for (const bar of bars.values()) bar.stop();
  }
}
