import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidInputError } from '../lib/errors.js';

/**
 * Refuses an input path that cannot be read, before any model is loaded: a typo in a file
 * name is a usage error (exit 2), not a stack trace after a minute of loading.
 * `-` and an absent path mean stdin.
 */
export async function checkInputFile(path: string | undefined, what = 'input file'): Promise<void> {
  if (path === undefined || path === '-') return;
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => err);
  if (info instanceof Error) {
    throw new InvalidInputError(info.code === 'ENOENT' || info.code === 'ENOTDIR' ? `${what} ${path} does not exist` : `${what} ${path} cannot be read (${info.code})`);
  }
  if (info.isDirectory()) throw new InvalidInputError(`${what} ${path} is a directory, not a file`);
  await access(path, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidInputError(`${what} ${path} cannot be read (${err.code})`);
  });
}

/** Refuses an output path whose directory does not exist, before any model is loaded. `-` and an absent path mean stdout. */
export async function checkOutputFile(path: string | undefined): Promise<void> {
  if (path === undefined || path === '-') return;
  const dir = dirname(resolve(path));
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new InvalidInputError(`cannot write ${path}: directory ${dir} does not exist`);
  if (await stat(path).then((s) => s.isDirectory(), () => false)) throw new InvalidInputError(`cannot write ${path}: it is a directory`);
}
