import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs (pino). The server logs to stdout; CLI commands pass stderr so their stdout
 * stays theirs. Never log text, vectors or secrets: ids, counts and sizes only.
 */
export function createLogger(opts: { level: string; destination?: 'stdout' | 'stderr' }): Logger {
  return pino({ level: opts.level, base: { service: 'biovec' }, redact: ['req.headers.authorization', '*.hfToken', '*.qdrantApiKey'] }, pino.destination(opts.destination === 'stderr' ? 2 : 1));
}

export const silentLogger = (): Logger => pino({ level: 'silent' });
