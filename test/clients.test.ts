// The real Python clients (openai, langchain-openai, huggingface_hub, from PyPI in .venv-ci,
// which .ci/run makes) against a served biovec on the tiny RoBERTa fixture (issue 12): each
// call works, errors reach the exception text, and the vectors equal `biovec embed`'s.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, cliCommand, REPO_ROOT, startServedBiovec, type ServedBiovec } from '../scripts/lib/served-biovec.js';

const PYTHON = join(REPO_ROOT, '.venv-ci', 'bin', 'python');
const SCRIPT = join(REPO_ROOT, 'test', 'clients', 'clients.py');

function clientsMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `needs .venv-ci with the client libraries (.ci/run makes it), absent at ${PYTHON}`;
  const probe = spawnSync(PYTHON, ['-c', 'import openai, langchain_openai, huggingface_hub, numpy'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `needs openai, langchain-openai, huggingface_hub and numpy in .venv-ci (see .ci/run): ${probe.stderr.trim().split('\n').at(-1)}`;
}
const missing = clientsMissing();
if (missing) console.warn(`skipping the real-client tests: ${missing}`);

const TEXTS = [
  'Aspirin irreversibly inhibits cyclooxygenase-1 and -2.',
  'BRCA1 germline mutations increase the lifetime risk of breast cancer.',
  'Statins lower LDL cholesterol.',
];

interface CheckResult { check: string; status: 'pass' | 'fail'; detail: string }

describe.skipIf(missing !== undefined)('real clients against a served biovec', () => {
  let served: ServedBiovec;
  let dir: string;
  const results = new Map<string, CheckResult>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'biovec-clients-'));
    // The reference: `biovec embed` on the same fixture model, in its own data dir.
    await writeFile(join(dir, 'texts.txt'), `${TEXTS.join('\n')}\n`);
    const cli = spawnSync(process.execPath, [...cliCommand(), 'embed', join(dir, 'texts.txt')], { cwd: REPO_ROOT, env: baseEnv(join(dir, 'cli'), {}), encoding: 'utf8' });
    if (cli.status !== 0) throw new Error(`biovec embed failed (${cli.status}): ${cli.stderr}`);
    const vectors = cli.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { embedding: number[] }).embedding);
    served = await startServedBiovec();
    await writeFile(join(dir, 'config.json'), JSON.stringify({ url: served.url, token: served.token, model: 'tiny-roberta', texts: TEXTS, vectors }));
    const run = spawnSync(PYTHON, [SCRIPT, join(dir, 'config.json')], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' }, timeout: 600_000 });
    if (run.status !== 0) throw new Error(`clients.py exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
    for (const line of run.stdout.trim().split('\n')) {
      const r = JSON.parse(line) as CheckResult;
      results.set(r.check, r);
    }
  }, 900_000);

  afterAll(async () => {
    await served?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const expectPass = (check: string) => {
    const r = results.get(check);
    expect(r, `${check} did not run`).toBeDefined();
    expect(r!.status, r!.detail).toBe('pass');
    return r!;
  };

  it('openai: single, batch and base64-default embeddings equal biovec embed\'s', () => {
    expectPass('openai embeddings single');
    expectPass('openai embeddings batch');
    expectPass('openai embeddings base64 default');
  });

  it('openai: the reason of a 422 reaches the exception, and token ids are refused with what to set', () => {
    expect(expectPass('openai error reason').detail).toContain('/input/1');
    expect(expectPass('openai token ids refused').detail).toContain('check_embedding_ctx_length=False');
  });

  it('openai: models.list() names the served model', () => {
    expectPass('openai models list');
  });

  it('langchain-openai with check_embedding_ctx_length=False: embed_query and embed_documents equal biovec embed\'s', () => {
    expectPass('langchain check_embedding_ctx_length=False');
  });

  it('langchain-openai with its defaults (tiktoken ids): refused with what to set', () => {
    expect(expectPass('langchain defaults').detail).toContain('check_embedding_ctx_length=False');
  });

  it('huggingface_hub InferenceClient(base_url).feature_extraction equals biovec embed\'s', () => {
    expectPass('huggingface_hub feature_extraction');
  });
});
