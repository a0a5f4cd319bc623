// Starts a real `biovec serve` on a loopback port, over a temporary data dir and a tiny fixture
// model, with one admin API key, for the black-box checks (schemathesis, hostile inputs).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const FIXTURE_MODEL = join(REPO_ROOT, 'test', 'fixtures', 'models', 'tiny-roberta');

export interface ServedBiovec {
  url: string;
  /** An admin-scope bearer token. */
  token: string;
  /** Tokens of ServeOptions.extraKeys, in their order. */
  extraTokens: string[];
  dataDir: string;
  child: ChildProcess;
  /** Server stdout + stderr so far (JSON logs). */
  output(): string;
  /** Whether the process has exited (a crash, unless stop() was called). */
  hasExited(): boolean;
  exitCode(): number | null;
  /** Peak resident set size of the server process so far in MiB (VmHWM; 0 where /proc is absent). */
  maxRssMb(): number;
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Extra environment (e.g. BIOVEC_MAX_BODY_BYTES). */
  env?: Record<string, string>;
  /** Requests a minute for the key (the fuzzers send many). */
  rateLimitPerMinute?: number;
  databaseUrl?: string;
  /** More keys made before the server starts (the web app test needs a read-only and a rate-limited one). */
  extraKeys?: { scope: 'read' | 'write' | 'admin'; rateLimitPerMinute?: number }[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The command that runs the CLI: the compiled bin/biovec.js when dist/ is at least as new as
 * src/ (CI builds it in `npm ci`), else the sources through tsx, so a local run never tests
 * stale code.
 */
export function cliCommand(): string[] {
  const dist = join(REPO_ROOT, 'dist', 'cli.js');
  const newestSrc = spawnSync('find', [join(REPO_ROOT, 'src'), '-name', '*.ts', '-newer', dist], { encoding: 'utf8' });
  const isFresh = existsSync(dist) && newestSrc.status === 0 && newestSrc.stdout.trim() === '';
  return isFresh ? [join(REPO_ROOT, 'bin', 'biovec.js')] : ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli.ts')];
}

/** The environment a served or CLI biovec runs with: everything under dataDir, offline, on the fixture model. */
export function baseEnv(dataDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH, HOME: dataDir, BIOVEC_DATA_DIR: join(dataDir, 'data'), BIOVEC_CACHE_DIR: join(dataDir, 'cache'),
    HF_HUB_CACHE: join(dataDir, 'hf'), HF_HUB_OFFLINE: 'true', BIOVEC_MODEL: FIXTURE_MODEL, BIOVEC_THREADS: '1', BIOVEC_LOG_LEVEL: 'warn', ...extra,
  };
}

export async function startServedBiovec(opts: ServeOptions = {}): Promise<ServedBiovec> {
  const dataDir = await mkdtemp(join(tmpdir(), 'biovec-served-'));
  const extra = { ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}), ...opts.env };
  const cmd = cliCommand();
  const created = spawnSync(process.execPath, [...cmd, 'keys', 'create', '--scope', 'admin', '--name', 'fuzz', '--rate-limit', String(opts.rateLimitPerMinute ?? 1_000_000)], { cwd: REPO_ROOT, env: baseEnv(dataDir, extra), encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`biovec keys create failed: ${created.stderr}`);
  const token = created.stdout.trim();
  const extraTokens = (opts.extraKeys ?? []).map((k, i) => {
    const made = spawnSync(process.execPath, [...cmd, 'keys', 'create', '--scope', k.scope, '--name', `extra-${i}`, '--rate-limit', String(k.rateLimitPerMinute ?? 1_000_000)], { cwd: REPO_ROOT, env: baseEnv(dataDir, extra), encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`biovec keys create failed: ${made.stderr}`);
    return made.stdout.trim();
  });
  const port = await freePort();
  const child = spawn(process.execPath, [...cmd, 'serve'], { cwd: REPO_ROOT, env: baseEnv(dataDir, { BIOVEC_HOST: '127.0.0.1', BIOVEC_PORT: String(port), ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  let code: number | null = null;
  const keep = (d: Buffer) => { output = (output + d.toString()).slice(-1_000_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const closed = new Promise<void>((resolve) => child.on('close', (c) => { exited = true; code = c; resolve(); }));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`biovec serve exited (${code}) before it was ready:\n${output}`);
    if (i > 1200) throw new Error(`biovec serve did not become ready:\n${output}`);
    const ok = await fetch(`${url}/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url, token, extraTokens, dataDir, child,
    output: () => output,
    hasExited: () => exited,
    exitCode: () => code,
    maxRssMb: () => {
      try {
        const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        return kb ? Number(kb) / 1024 : 0;
      } catch {
        return 0;
      }
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await closed;
        clearTimeout(timer);
      }
      if (existsSync(dataDir) && statSync(dataDir).isDirectory()) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
