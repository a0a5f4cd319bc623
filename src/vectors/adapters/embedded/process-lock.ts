import { open, readFile, rm } from 'node:fs/promises';
import { ConflictError } from '../../../lib/errors.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process at a time owns an embedded index directory: two writers would interleave their
 * logs. A lock left by a process that died (SIGKILL, crash) is taken over.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new ConflictError(`the embedded index at ${path.replace(/\/LOCK$/, '')} is in use by process ${owner}; stop it, or use Qdrant (QDRANT_URL) to share an index between processes`);
      }
      await rm(path, { force: true });
    }
  }
  throw new ConflictError(`could not lock ${path}`);
}
