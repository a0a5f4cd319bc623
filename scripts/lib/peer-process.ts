import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../python/bench_peers.py', import.meta.url));

export interface Peers {
  /** Runs one round of a PyTorch peer on the texts; returns its seconds. */
  run(mode: 'fp32' | 'qint8'): Promise<number>;
  version: string;
  close(): Promise<void>;
}

/**
 * Starts bench_peers.py --serve (torch + transformers, loaded once), so its rounds can
 * alternate with biovec's in one run. Throws, with what Python said, when it cannot start
 * (no torch in that interpreter: pass --python /path/to/venv/bin/python).
 */
export async function startPeers(opts: { python: string; modelDir: string; texts: string[]; threads: number }): Promise<Peers> {
  const scratch = await mkdtemp(join(tmpdir(), 'biovec-peers-'));
  const textsPath = join(scratch, 'texts.json');
  await writeFile(textsPath, JSON.stringify(opts.texts));
  const child = spawn(opts.python, [SCRIPT, '--model', opts.modelDir, '--texts', textsPath, '--threads', String(opts.threads), '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`bench_peers.py exited (${opts.python}):\n${stderr}`);
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  const spawnFailed = new Promise<never>((_, reject) => child.on('error', (err) => reject(new Error(`cannot run ${opts.python}: ${err.message}`))));
  const ready = await Promise.race([next(), spawnFailed]);
  return {
    version: `torch ${String(ready.torch)}`,
    async run(mode) {
      child.stdin.write(`${mode}\n`);
      return Number((await next()).seconds);
    },
    async close() {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
