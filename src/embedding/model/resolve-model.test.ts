import { mkdtemp, readdir, readlink, rm, writeFile, cp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixtureModel } from '../../../test/helpers/fixtures.js';
import { HubServer } from '../../../test/helpers/hub-server.js';
import { ModelError } from '../../lib/errors.js';
import { parseModelSpec, resolveModel, type HubSettings } from './resolve-model.js';

describe('resolveModel against a hub-layout HTTP server', () => {
  let hub: HubServer;
  let cacheDir: string;
  let noSafetensors: string;
  let noWeights: string;

  beforeAll(async () => {
    noSafetensors = await mkdtemp(join(tmpdir(), 'biovec-binonly-'));
    await cp(fixtureModel('tiny-bert'), noSafetensors, { recursive: true });
    await rm(join(noSafetensors, 'model.safetensors'));
    await cp(join(FIXTURES, 'torch', 'bert-bin', 'pytorch_model.bin'), join(noSafetensors, 'pytorch_model.bin'));
    noWeights = await mkdtemp(join(tmpdir(), 'biovec-noweights-'));
    await cp(join(fixtureModel('tiny-bert'), 'config.json'), join(noWeights, 'config.json'));
    hub = await new HubServer({
      'allenai/tiny-roberta': { dir: fixtureModel('tiny-roberta') },
      'org/gated-bert': { dir: fixtureModel('tiny-bert'), token: 'hf_secret' },
      'org/bert-onnx': { dir: fixtureModel('tiny-bert-onnx') },
      'org/bin-only': { dir: noSafetensors },
      'org/no-weights': { dir: noWeights },
      'org/sharded-roberta': { dir: join(FIXTURES, 'torch', 'roberta-sharded-st') },
      'org/sharded-bert-bin': { dir: join(FIXTURES, 'torch', 'bert-sharded-bin') },
    }).start();
  });
  afterAll(async () => {
    await hub.stop();
    await rm(noSafetensors, { recursive: true, force: true });
    await rm(noWeights, { recursive: true, force: true });
  });
  afterEach(async () => {
    hub.faults = {};
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  const settings = async (extra: Partial<HubSettings> = {}): Promise<HubSettings> => {
    cacheDir = await mkdtemp(join(tmpdir(), 'biovec-hub-'));
    return { endpoint: hub.url, token: undefined, offline: false, cacheDir, timeoutMs: 5000, ...extra };
  };
  const resolveId = async (id: string, s: HubSettings) => resolveModel(await parseModelSpec(id), s);

  it('downloads a model into the huggingface_hub cache layout, pinned to the commit', async () => {
    const s = await settings();
    const progress: number[] = [];
    const model = await resolveId('allenai/tiny-roberta', { ...s, onProgress: (p) => progress.push(p.receivedBytes) });
    const commit = hub.commitOf('allenai/tiny-roberta');
    expect(model).toMatchObject({ modelId: 'allenai/tiny-roberta', revision: commit });
    expect(model.dir).toBe(join(s.cacheDir, 'models--allenai--tiny-roberta', 'snapshots', commit));
    const files = (await readdir(model.dir)).sort();
    expect(files).toEqual(['config.json', 'merges.txt', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.json']);
    // Snapshot entries are relative symlinks into blobs/, as Python's huggingface_hub makes them.
    expect(await readlink(join(model.dir, 'model.safetensors'))).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    expect(await readFile(join(s.cacheDir, 'models--allenai--tiny-roberta', 'refs', 'main'), 'utf8')).toBe(commit);
    expect(Buffer.compare(await readFile(join(model.dir, 'model.safetensors')), await readFile(join(fixtureModel('tiny-roberta'), 'model.safetensors')))).toBe(0);
    expect(progress.length).toBeGreaterThan(0);
    // LFS downloads went to the pinned commit, not to a moving branch.
    expect(hub.requests.some((r) => r.method === 'GET' && r.url.includes(`/resolve/${commit}/model.safetensors`))).toBe(true);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const s = await settings();
    hub.faults = { cutFirstDownloadAfterBytes: 50_000 };
    await expect(resolveId('allenai/tiny-roberta', s)).rejects.toThrow(/interrupted|resume|bytes/);
    hub.requests.length = 0;
    const model = await resolveId('allenai/tiny-roberta', s);
    const ranged = hub.requests.find((r) => r.method === 'GET' && r.url.includes('model.safetensors'));
    expect(ranged?.range).toMatch(/^bytes=\d+-$/);
    expect(Number(ranged!.range!.slice(6, -1))).toBeGreaterThan(0);
    expect(Buffer.compare(await readFile(join(model.dir, 'model.safetensors')), await readFile(join(fixtureModel('tiny-roberta'), 'model.safetensors')))).toBe(0);
  });

  it('starts over when the server ignores Range', async () => {
    const s = await settings();
    hub.faults = { cutFirstDownloadAfterBytes: 40_000, ignoreRange: true };
    await expect(resolveId('allenai/tiny-roberta', s)).rejects.toThrow();
    const model = await resolveId('allenai/tiny-roberta', s);
    expect(Buffer.compare(await readFile(join(model.dir, 'model.safetensors')), await readFile(join(fixtureModel('tiny-roberta'), 'model.safetensors')))).toBe(0);
  });

  it('rejects and removes a download whose sha256 does not match the hub etag', async () => {
    const s = await settings();
    hub.faults = { corruptFirstDownload: true };
    const err = await resolveId('allenai/tiny-roberta', s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).detail).toMatch(/sha256 .* does not match/);
    hub.faults = {};
    const model = await resolveId('allenai/tiny-roberta', s);
    expect(Buffer.compare(await readFile(join(model.dir, 'model.safetensors')), await readFile(join(fixtureModel('tiny-roberta'), 'model.safetensors')))).toBe(0);
  });

  it('says a gated repo needs HF_TOKEN, and downloads with it', async () => {
    const s = await settings();
    await expect(resolveId('org/gated-bert', s)).rejects.toThrow(/gated or private: set HF_TOKEN/);
    await expect(resolveId('org/gated-bert', { ...s, token: 'wrong' })).rejects.toThrow(/refused with the given HF_TOKEN/);
    const model = await resolveId('org/gated-bert', { ...s, token: 'hf_secret' });
    expect((await readdir(model.dir)).sort()).toContain('vocab.txt');
    expect(hub.requests.filter((r) => r.auth === 'Bearer hf_secret').length).toBeGreaterThan(0);
  });

  it('names an unknown repo and an unknown revision', async () => {
    const s = await settings();
    await expect(resolveId('nobody/no-such-model', s)).rejects.toThrow(/nobody\/no-such-model was not found/);
    await expect(resolveId('allenai/tiny-roberta@v9', s)).rejects.toThrow(/revision "v9" does not exist/);
  });

  it('fetches an ONNX export when the repo has no safetensors', async () => {
    const model = await resolveId('org/bert-onnx', await settings());
    expect(await readdir(join(model.dir, 'onnx'))).toEqual(['model.onnx']);
  });

  it('downloads pytorch_model.bin when the repo has neither safetensors nor ONNX', async () => {
    const model = await resolveId('org/bin-only', await settings());
    expect(await readdir(model.dir)).toContain('pytorch_model.bin');
    expect(await readdir(model.dir)).not.toContain('model.safetensors');
  });

  it('says which weights it reads when a repo has none', async () => {
    await expect(resolveId('org/no-weights', await settings())).rejects.toThrow(/has no weights biovec reads: neither model.safetensors, pytorch_model.bin/);
  });

  const shardsOf = async (dir: string) => (await readdir(dir)).filter((f) => /-of-\d+\.(safetensors|bin)$/.test(f)).sort();

  for (const [repo, fixture] of [['org/sharded-roberta', 'roberta-sharded-st'], ['org/sharded-bert-bin', 'bert-sharded-bin']] as const) {
    it(`${repo}: downloads the index and every shard it names, byte for byte`, async () => {
      const model = await resolveId(repo, await settings());
      const source = join(FIXTURES, 'torch', fixture);
      const shards = await shardsOf(source);
      expect(shards.length).toBeGreaterThan(1);
      expect(await shardsOf(model.dir)).toEqual(shards);
      for (const shard of shards) {
        expect(Buffer.compare(await readFile(join(model.dir, shard)), await readFile(join(source, shard))), shard).toBe(0);
      }
      expect((await readdir(model.dir)).some((f) => f.endsWith('.index.json'))).toBe(true);
    });
  }

  it('resumes an interrupted shard with a Range request, and checks each shard against its sha256', async () => {
    const s = await settings();
    // Each shard's first GET is cut, so each run gets one shard further, as a user rerunning would.
    hub.faults = { cutFirstDownloadAfterBytes: 10_000 };
    let model: Awaited<ReturnType<typeof resolveId>> | undefined;
    const failures: string[] = [];
    for (let attempt = 0; attempt < 5 && !model; attempt++) {
      model = await resolveId('org/sharded-roberta', s).catch((e: unknown) => {
        failures.push((e as ModelError).detail);
        return undefined;
      });
    }
    expect(failures.length).toBe(3); // one interruption per shard
    expect(failures[0]).toMatch(/model-00001-of-00003\.safetensors was interrupted/);
    const ranged = hub.requests.filter((r) => r.method === 'GET' && r.range && /model-\d+-of-\d+\.safetensors/.test(r.url));
    expect([...new Set(ranged.map((r) => r.url.replace(/.*\//, '')))].sort()).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    expect(ranged.every((r) => Number(r.range!.slice(6, -1)) > 0)).toBe(true);
    const source = join(FIXTURES, 'torch', 'roberta-sharded-st');
    for (const shard of await shardsOf(source)) {
      expect(Buffer.compare(await readFile(join(model!.dir, shard)), await readFile(join(source, shard))), shard).toBe(0);
    }

    const s2 = await settings();
    hub.faults = { corruptFirstDownload: true };
    const err = await resolveId('org/sharded-roberta', s2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).detail).toMatch(/model-00001-of-00003\.safetensors: sha256 .* does not match/);
  });

  it('offline: uses the cache, and says what to do when the cache is empty', async () => {
    const s = await settings();
    await expect(resolveId('allenai/tiny-roberta', { ...s, offline: true })).rejects.toThrow(/HF_HUB_OFFLINE.*not in the cache.*biovec model pull.*local directory/);
    await resolveId('allenai/tiny-roberta', s);
    hub.requests.length = 0;
    const model = await resolveId('allenai/tiny-roberta', { ...s, offline: true });
    expect(model.revision).toBe(hub.commitOf('allenai/tiny-roberta'));
    expect(hub.requests).toHaveLength(0);
  });

  it('falls back to the cache when the hub is unreachable, with a warning', async () => {
    const s = await settings();
    await resolveId('allenai/tiny-roberta', s);
    const warnings: string[] = [];
    const model = await resolveId('allenai/tiny-roberta', { ...s, endpoint: 'http://127.0.0.1:9', onWarning: (w) => warnings.push(w) });
    expect(model.revision).toBe(hub.commitOf('allenai/tiny-roberta'));
    expect(warnings[0]).toMatch(/cannot reach .* using the cached copy/);
    await rm(s.cacheDir, { recursive: true, force: true });
    await expect(resolveId('allenai/tiny-roberta', { ...s, endpoint: 'http://127.0.0.1:9' })).rejects.toThrow(/cannot reach/);
  });
});

describe('parseModelSpec', () => {
  it('reads hub ids with and without a revision, and paths', async () => {
    expect(await parseModelSpec('allenai/biomed_roberta_base')).toMatchObject({ repoId: 'allenai/biomed_roberta_base', revision: 'main' });
    expect(await parseModelSpec('allenai/biomed_roberta_base@v1.0')).toMatchObject({ repoId: 'allenai/biomed_roberta_base', revision: 'v1.0' });
    expect(await parseModelSpec('allenai/biomed_roberta_base', 'abc')).toMatchObject({ revision: 'abc' });
    expect((await parseModelSpec('./models/x')).localDir).toMatch(/\/models\/x$/);
    expect((await parseModelSpec(fixtureModel('tiny-bert'))).localDir).toBe(fixtureModel('tiny-bert'));
    await expect(parseModelSpec('not a model id!')).rejects.toThrow(ModelError);
  });

  it('refuses a local directory that does not exist', async () => {
    await expect(resolveModel(await parseModelSpec('./no/such/dir'), { endpoint: 'http://x', token: undefined, offline: true, cacheDir: tmpdir(), timeoutMs: 1 })).rejects.toThrow(/does not exist/);
  });
});
