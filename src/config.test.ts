import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../test/helpers/fixtures.js';
import { ENV_NAMES, configSchema, flagName, loadConfig, redactConfig } from './config.js';
import { InvalidInputError } from './lib/errors.js';

describe('loadConfig', () => {
  it('defaults to eos1086: biomed_roberta_base, CLS pooling as the model says, raw vectors', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ model: 'allenai/biomed_roberta_base', pooling: 'auto', normalize: 'auto', device: 'cpu', hfEndpoint: 'https://huggingface.co' });
  });

  it('reads BIOVEC_* and the Hugging Face variables; flags win over env', () => {
    const env = { BIOVEC_MODEL: 'org/a', BIOVEC_MAX_BATCH_TOKENS: '2048', HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://mirror.local', HF_HOME: '/data/hf' };
    const config = loadConfig(env, { model: 'org/b' });
    expect(config).toMatchObject({ model: 'org/b', maxBatchTokens: 2048, hfToken: 'hf_x', hfHubOffline: true, hfEndpoint: 'http://mirror.local', hfHubCache: '/data/hf/hub' });
  });

  it('stops on a wrong value, naming the variable and the flag', () => {
    const err = (() => {
      try {
        return loadConfig({ BIOVEC_POOLING: 'max', BIOVEC_THREADS: '-1' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).detail).toMatch(/BIOVEC_POOLING \/ --pooling/);
    expect((err as InvalidInputError).detail).toMatch(/BIOVEC_THREADS \/ --threads/);
  });

  it('redacts secrets for the startup line', () => {
    expect(redactConfig(loadConfig({ HF_TOKEN: 'hf_secret' })).hfToken).toBe('[redacted]');
  });

  it('maps every key to one env var and one kebab-case flag', () => {
    expect(ENV_NAMES.maxBatchTokens).toBe('BIOVEC_MAX_BATCH_TOKENS');
    expect(ENV_NAMES.hfHubOffline).toBe('HF_HUB_OFFLINE');
    expect(flagName('maxBatchTokens')).toBe('--max-batch-tokens');
    for (const [key, schema] of Object.entries(configSchema.shape)) expect(schema.description, key).toBeTruthy();
  });

  it('README documents every setting', async () => {
    const readme = await readFile(`${REPO_ROOT}/README.md`, 'utf8');
    for (const name of Object.values(ENV_NAMES)) expect(readme, name).toContain(`\`${name}\``);
  });
});

describe('README configuration table', () => {
  it('equals the table generated from the schema (npm run -s docs:config)', async () => {
    const { renderConfigTable } = await import('./config-table.js');
    const readme = await readFile(`${REPO_ROOT}/README.md`, 'utf8');
    const between = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)?.[1];
    expect(between).toBe(renderConfigTable());
  });
});
