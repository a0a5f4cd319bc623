import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../lib/errors.js';
import { acquireLock, processStartTime } from './process-lock.js';

describe.runIf(process.platform === 'linux')('the embedded index lock', () => {
  let dir: string;
  let parent: ChildProcess;
  let parentPid: number;
  let zombiePid: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'biovec-lock-'));
    // The shell starts a child, then becomes `sleep`, which never reaps: once killed, that
    // child stays a zombie, as a SIGKILLed server does in a container without an init.
    parent = spawn('sh', ['-c', 'sleep 120 & echo $!; exec sleep 120'], { stdio: ['ignore', 'pipe', 'inherit'] });
    zombiePid = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (d) => resolve(String(d).trim()))));
    parentPid = parent.pid!;
    const start = await processStartTime(zombiePid);
    await writeFile(join(dir, 'zombie-start'), start);
    process.kill(zombiePid, 'SIGKILL');
    for (let i = 0; i < 500 && !(await readFile(`/proc/${zombiePid}/stat`, 'utf8')).includes(') Z '); i++) await new Promise((r) => setTimeout(r, 10));
  });
  afterAll(async () => {
    parent.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('takes over a lock whose owner is a zombie', async () => {
    expect(await readFile(`/proc/${zombiePid}/stat`, 'utf8')).toContain(') Z ');
    const path = join(dir, 'zombie.LOCK');
    await writeFile(path, `${zombiePid} ${await readFile(join(dir, 'zombie-start'), 'utf8')}`);
    const release = await acquireLock(path);
    expect((await readFile(path, 'utf8')).split(' ')[0]).toBe(String(process.pid));
    await release();
  });

  it('takes over a lock whose PID now belongs to another process (reused PID)', async () => {
    const path = join(dir, 'reused.LOCK');
    const start = await processStartTime(parentPid);
    expect(start).not.toBe('');
    await writeFile(path, `${parentPid} ${Number(start) + 1}`);
    const release = await acquireLock(path);
    await release();
  });

  it('refuses a lock whose owner still runs', async () => {
    const path = join(dir, 'live.LOCK');
    await writeFile(path, `${parentPid} ${await processStartTime(parentPid)}`);
    await expect(acquireLock(path)).rejects.toBeInstanceOf(ConflictError);
    await writeFile(path, String(parentPid)); // a lock written before start times were recorded
    await expect(acquireLock(path)).rejects.toBeInstanceOf(ConflictError);
  });
});
