import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/cli/exit-codes.js';
import { FIXTURES, REPO_ROOT, fixtureModel } from './helpers/fixtures.js';
import { HubServer } from './helpers/hub-server.js';
import { runTsx } from './helpers/run-tsx.js';

let work: string;
const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
  runTsx(join(REPO_ROOT, 'src', 'cli.ts'), args, {
    env: { PATH: process.env.PATH, HOME: work, BIOVEC_CACHE_DIR: join(work, 'cache'), HF_HUB_CACHE: join(work, 'hf'), HF_HUB_OFFLINE: '1', BIOVEC_THREADS: '1', ...env },
  });

/** tiny-bert's tokenizer and config with other weights (or another model_type). */
async function modelDir(name: string, weights: string | undefined, config: Record<string, unknown> = {}): Promise<string> {
  const dir = join(work, name);
  await cp(fixtureModel('tiny-bert'), dir, { recursive: true });
  await rm(join(dir, 'model.safetensors'));
  if (weights) await cp(join(FIXTURES, 'torch', weights), dir, { recursive: true });
  const raw = JSON.parse(await readFile(join(fixtureModel('tiny-bert'), 'config.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...raw, ...config }));
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'biovec-cli-ckpt-'));
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('biovec model info on torch and sharded checkpoints', () => {
  it('names the architecture and the checkpoint file of a pytorch_model.bin model', async () => {
    const res = await cli(['model', 'info', '--model', await modelDir('bin', 'bert-bin')]);
    expect(res.code, res.stderr).toBe(EXIT_CODES.ok);
    expect(JSON.parse(res.stdout)).toMatchObject({ architecture: 'bert', architectures: ['BertModel'], checkpoint: 'pytorch_model.bin', dims: 32, weights: 'safetensors' });
  });

  it('loads a sharded pytorch_model.bin through its index', async () => {
    const res = await cli(['model', 'info', '--model', await modelDir('sharded', 'bert-sharded-bin')]);
    expect(res.code, res.stderr).toBe(EXIT_CODES.ok);
    expect(JSON.parse(res.stdout)).toMatchObject({ checkpoint: 'pytorch_model.bin.index.json', dims: 32 });
  });

  it('pull fetches a sharded pytorch_model.bin from HF_ENDPOINT and converts it', async () => {
    const hub = await new HubServer({ 'org/sharded-bert': { dir: await modelDir('hub-sharded', 'bert-sharded-bin') } }).start();
    try {
      const res = await cli(['model', 'pull', 'org/sharded-bert'], { HF_HUB_OFFLINE: undefined, HF_ENDPOINT: hub.url });
      expect(res.code, res.stderr).toBe(EXIT_CODES.ok);
      expect(JSON.parse(res.stdout)).toMatchObject({ model: 'org/sharded-bert', checkpoint: 'pytorch_model.bin.index.json', dims: 32 });
      const shardGets = hub.requests.filter((r) => r.method === 'GET' && /\/lfs\/.*pytorch_model-0000\d-of-00003\.bin$/.test(r.url));
      expect(new Set(shardGets.map((r) => r.url)).size).toBe(3);
    } finally {
      await hub.stop();
    }
  });

  it('refuses an unsupported architecture saying which it is and what is supported', async () => {
    const dir = await modelDir('longformer', 'bert-bin', { model_type: 'longformer', architectures: ['LongformerModel'] });
    const res = await cli(['model', 'info', '--model', dir]);
    expect(res.code).toBe(EXIT_CODES.environment);
    expect(res.stderr).toMatch(
      /model_type "longformer" is not supported by the checkpoint converter \(architectures: LongformerModel\): it builds the encoder graphs of model_type bert, roberta, xlm-roberta, camembert, mpnet, distilbert, electra, modernbert, deberta-v2 only/,
    );
  });

  it('refuses an unsupported variant of a supported architecture, saying what is supported', async () => {
    const dir = await archDir('deberta-conv', 'deberta-v2', { conv_kernel_size: 3 });
    const res = await cli(['model', 'info', '--model', dir]);
    expect(res.code).toBe(EXIT_CODES.environment);
    expect(res.stderr).toMatch(/conv_kernel_size > 0 .* is not supported; DeBERTa-v3 and v2 models without it are/);
  });
});

/** An architecture fixture (test/fixtures/arch) with tiny-bert's tokenizer beside it. */
async function archDir(name: string, arch: string, config: Record<string, unknown> = {}): Promise<string> {
  const dir = join(work, name);
  await cp(join(FIXTURES, 'arch', arch), dir, { recursive: true });
  for (const file of ['vocab.txt', 'tokenizer_config.json']) await cp(join(fixtureModel('tiny-bert'), file), join(dir, file));
  const raw = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...raw, ...config }));
  return dir;
}

describe('biovec model info names each converted architecture', () => {
  const cases: [string, string, string][] = [
    ['mpnet', 'mpnet', 'MPNetForMaskedLM'],
    ['distilbert', 'distilbert', 'DistilBertModel'],
    ['electra', 'electra', 'ElectraForPreTraining'],
    ['deberta-v2', 'deberta-v2', 'DebertaV2Model'],
    ['modernbert', 'modernbert', 'ModernBertForMaskedLM'],
  ];
  for (const [arch, architecture, cls] of cases) {
    it(`${arch}: converts and reports model_type ${architecture} (${cls})`, async () => {
      const res = await cli(['model', 'info', '--model', await archDir(`info-${arch}`, arch)]);
      expect(res.code, res.stderr).toBe(EXIT_CODES.ok);
      expect(JSON.parse(res.stdout)).toMatchObject({ architecture, architectures: [cls], checkpoint: 'model.safetensors', dims: 32, weights: 'safetensors' });
    });
  }
});
