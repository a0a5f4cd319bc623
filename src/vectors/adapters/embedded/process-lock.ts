import { open, readFile, rm } from 'node:fs/promises';
import { ConflictError } from '../../../lib/errors.js';

interface ProcessState {
  /** Linux state letter: Z (zombie) and X (dead) no longer run. */
  state: string;
  /** Clock ticks after boot at which the process started: with the PID, names one process. */
  startTime: string;
}

/** A process's state from /proc, `null` when it does not exist, `undefined` where there is no /proc. */
async function readProcessState(pid: number): Promise<ProcessState | null | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch((err: NodeJS.ErrnoException) => err);
  if (typeof stat !== 'string') {
    const hasProc = await readFile('/proc/self/stat', 'utf8').then(() => true, () => false);
    return hasProc ? null : undefined;
  }
  // The command name, in parentheses, may hold spaces: the fields that follow are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}

/** When a process started (Linux: clock ticks after boot), '' where that cannot be known. */
export async function processStartTime(pid: number): Promise<string> {
  return (await readProcessState(pid))?.startTime ?? '';
}

/**
 * Whether the process that wrote a lock still runs. After a SIGKILL its PID can linger as a
 * zombie (no init reaping in a container) or be reused by an unrelated process; both once
 * made a restart refuse the lock (issue 10). A zombie is dead, and a PID whose start time
 * differs from the one recorded in the lock is another process.
 */
async function isOwnerRunning(pid: number, recordedStart: string): Promise<boolean> {
  const proc = await readProcessState(pid);
  if (proc === null) return false;
  if (proc) return proc.state !== 'Z' && proc.state !== 'X' && (recordedStart === '' || recordedStart === proc.startTime);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process at a time owns an embedded index directory: two writers would interleave their
 * logs. The lock file holds the owner's PID and start time; a lock left by a process that
 * died (SIGKILL, crash) is taken over.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  const content = `${process.pid} ${await processStartTime(process.pid)}`.trim();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(content);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pidText = '', recordedStart = ''] = (await readFile(path, 'utf8').catch(() => '')).trim().split(/\s+/);
      const owner = Number(pidText);
      if (owner && owner !== process.pid && (await isOwnerRunning(owner, recordedStart))) {
        throw new ConflictError(`the embedded index at ${path.replace(/\/LOCK$/, '')} is in use by process ${owner}; stop it, or use Qdrant (QDRANT_URL) to share an index between processes`);
      }
      await rm(path, { force: true });
    }
  }
  throw new ConflictError(`could not lock ${path}`);
}

/** The PID of the live process, other than this one, that holds the lock at `path`; undefined when none does. */
export async function lockOwner(path: string): Promise<number | undefined> {
  const [pidText = '', recordedStart = ''] = (await readFile(path, 'utf8').catch(() => '')).trim().split(/\s+/);
  const owner = Number(pidText);
  return owner && owner !== process.pid && (await isOwnerRunning(owner, recordedStart)) ? owner : undefined;
}
