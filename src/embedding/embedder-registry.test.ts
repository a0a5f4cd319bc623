import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModel } from '../../test/helpers/fixtures.js';
import { loadConfig, type Config } from '../config.js';
import { ConflictError } from '../lib/errors.js';
import type { Embedder } from './embedder.js';
import { bindingOf, EmbedderRegistry } from './embedder-registry.js';
import { loadEmbedder } from './load-embedder.js';

describe('EmbedderRegistry (real tiny models)', () => {
  let cacheDir: string;
  let config: Config;
  let served: Embedder;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'biovec-registry-'));
    config = loadConfig({}, { model: fixtureModel('tiny-roberta'), cacheDir, threads: 1, inference: 'inline', hfHubOffline: true });
    served = await loadEmbedder(config);
  });
  afterAll(async () => {
    await served?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('answers the served binding with the served embedder, and loads another binding once', async () => {
    const loads: string[] = [];
    const registry = new EmbedderRegistry({ served, config, load: (cfg) => { loads.push(cfg.model); return loadEmbedder(cfg); } });
    try {
      expect(await registry.forBinding(bindingOf(served.info))).toBe(served);
      const bert = await loadEmbedder({ ...config, model: fixtureModel('tiny-bert') });
      const binding = bindingOf(bert.info);
      await bert.close();
      const [a, b] = await Promise.all([registry.forBinding(binding), registry.forBinding(binding)]);
      expect(a).toBe(b);
      expect(a).not.toBe(served);
      expect(a.info.modelId).toBe(binding.modelId);
      const [v] = await a.embed(['BRCA1 mutations']);
      expect(v!.vector.length).toBe(binding.dims);
      expect(loads).toEqual([fixtureModel('tiny-bert')]);
    } finally {
      await registry.close();
    }
  });

  it('keeps at most maxExtra other models, closing the least recently used', async () => {
    const closed: string[] = [];
    const registry = new EmbedderRegistry({
      served,
      config,
      maxExtra: 1,
      load: async (cfg) => {
        const e = await loadEmbedder(cfg);
        const close = e.close.bind(e);
        e.close = async () => { closed.push(`${e.info.pooling}`); await close(); };
        return e;
      },
    });
    try {
      const base = bindingOf(served.info);
      const mean = await registry.forBinding({ ...base, pooling: base.pooling === 'mean' ? 'cls' : 'mean' });
      await registry.forBinding({ ...base, normalize: !base.normalize });
      await new Promise((r) => setImmediate(r));
      expect(closed).toEqual([mean.info.pooling]);
    } finally {
      await registry.close();
    }
    expect(closed.length).toBe(2);
  });

  it('refuses a binding it cannot load, or one the loaded model does not match, with a ConflictError naming why', async () => {
    const registry = new EmbedderRegistry({ served, config });
    try {
      const base = bindingOf(served.info);
      const missing = registry.forBinding({ ...base, modelId: join(cacheDir, 'no-such-model') });
      await expect(missing).rejects.toBeInstanceOf(ConflictError);
      await expect(missing).rejects.toThrow(/cannot load .*no-such-model/);
      const wrongDims = registry.forBinding({ ...base, dims: base.dims + 1 });
      await expect(wrongDims).rejects.toThrow(/differs .* in dims/);
    } finally {
      await registry.close();
    }
  });
});
