import type { Database } from '../db/client.js';
import { listActiveKeys, parseToken, secretMatches, type ApiKeyRecord } from './api-keys.js';

export interface ActiveKeysOptions {
  /** How long a loaded key set is trusted: bounds how long a revoked key keeps working. */
  maxAgeMs?: number;
  /** Least time between reloads forced by an unknown prefix (a key created since the last load). */
  minReloadIntervalMs?: number;
  now?: () => number;
}

/**
 * The active API keys, held in memory by prefix and reloaded at most every `maxAgeMs`.
 * A token is checked against them without a database lookup, and nothing is kept per token:
 * memory is bounded by the number of keys, not by the tokens clients send (random bad
 * tokens once grew a per-token cache without bound and each cost a query, issue 10).
 * An unknown prefix may force a reload, at most once per `minReloadIntervalMs`, so a key
 * made with `biovec keys create` works within about a second.
 */
export class ActiveKeys {
  private byPrefix = new Map<string, ApiKeyRecord>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;
  private reloadCount = 0;
  private readonly maxAgeMs: number;
  private readonly minReloadIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly db: Database, opts: ActiveKeysOptions = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 30_000;
    this.minReloadIntervalMs = opts.minReloadIntervalMs ?? 1_000;
    this.now = opts.now ?? Date.now;
  }

  /** Active keys now (as of the last load). Throws what the database throws. */
  async count(): Promise<number> {
    await this.ensureFresh();
    return this.byPrefix.size;
  }

  /** The active key a bearer token belongs to, or undefined. Constant-time on the secret. */
  async verify(token: string): Promise<ApiKeyRecord | undefined> {
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    await this.ensureFresh();
    let key = this.byPrefix.get(parsed.prefix);
    if (!key && this.now() - this.loadedAt >= this.minReloadIntervalMs) {
      await this.reload();
      key = this.byPrefix.get(parsed.prefix);
    }
    return key && secretMatches(parsed.secret, key) ? key : undefined;
  }

  /** Keys held and loads done, for tests and metrics. */
  stats(): { keys: number; reloads: number } {
    return { keys: this.byPrefix.size, reloads: this.reloadCount };
  }

  private async ensureFresh(): Promise<void> {
    if (this.now() - this.loadedAt > this.maxAgeMs) await this.reload();
  }

  /** One load at a time: concurrent requests share it. */
  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const keys = await listActiveKeys(this.db);
        this.byPrefix = new Map(keys.map((k) => [k.prefix, k]));
        this.loadedAt = this.now();
        this.reloadCount += 1;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
