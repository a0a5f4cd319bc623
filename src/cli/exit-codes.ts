import { CommanderError } from 'commander';
import { AppError, type ErrorCode } from '../lib/errors.js';

/**
 * The CLI's exit codes, one table for every command (README "Exit codes" and `biovec --help`
 * print it from here): scripts can tell a mistake in the call from a machine that is not ready.
 */
export const EXIT_CODES = {
  ok: 0,
  /** The environment or state: model not available, store in use, network or database down, a collection missing. */
  environment: 1,
  /** The call: unknown command or option, a bad setting, a missing or unreadable input file or output directory, invalid input data. */
  usage: 2,
  /** `reconcile` found drift between catalog and index (without --repair). */
  drift: 3,
  /** A bug in biovec: the message carries a stack trace to report. */
  internal: 70,
} as const;

export const EXIT_CODE_HELP = [
  'Exit codes:',
  `  ${EXIT_CODES.ok}   success`,
  `  ${EXIT_CODES.environment}   environment or state: model not available (offline, not pulled), store in use by a`,
  '      server, network or database down, collection not found',
  `  ${EXIT_CODES.usage}   usage or input: unknown command or option, bad setting, missing or unreadable input`,
  '      file, missing output directory, invalid input data',
  `  ${EXIT_CODES.drift}   reconcile found drift (run it with --repair)`,
  `  ${EXIT_CODES.internal}  internal error (a bug; please report it with the stack trace)`,
].join('\n');

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['invalid-input', 'payload-too-large']);

/** The exit code and the one line (a stack only for bugs) that `err` ends a command with. */
export function describeFailure(err: unknown): { exitCode: number; message?: string } {
  // Commander has already printed its own message (and the help, for a usage error).
  if (err instanceof CommanderError) return { exitCode: err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage };
  if (err instanceof AppError) return { exitCode: USAGE_CODES.has(err.code) ? EXIT_CODES.usage : EXIT_CODES.environment, message: err.detail };
  const errno = err as NodeJS.ErrnoException;
  if (errno instanceof Error && typeof errno.code === 'string' && errno.syscall) {
    // A file or socket the machine refused (output directory missing, disk full, permissions).
    return { exitCode: EXIT_CODES.environment, message: `${errno.syscall} ${errno.path ?? ''} failed: ${errno.code}`.replace('  ', ' ') };
  }
  return { exitCode: EXIT_CODES.internal, message: `unexpected error: ${(err as Error)?.stack ?? String(err)}` };
}
