export interface RetryOptions {
  /** Most attempts, the first included. Default 4. */
  attempts?: number;
  /** Upper bound of the first backoff, in ms; it doubles per retry. Default 100. */
  baseDelayMs?: number;
  /** Upper bound of any one backoff, in ms. Default 5000. */
  maxDelayMs?: number;
  /**
   * Overall budget in ms, counted from the first attempt: no wait runs past it and no attempt
   * starts after it. An attempt already running is bounded by its own timeout, not by this.
   */
  deadlineMs: number;
  /** Whether a failure is worth another attempt (a timeout, a 429, a 5xx, a reset connection). */
  shouldRetry: (err: unknown) => boolean;
  /**
   * The server's own wait hint in ms (Retry-After), if the failure carries one. By default a
   * numeric `retryAfterMs` property on the error.
   */
  retryAfterMs?: (err: unknown) => number | undefined;
  /** Cuts a pending wait short (e.g. on shutdown); the last failure is thrown at once. */
  signal?: AbortSignal;
}

function hintedRetryAfterMs(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('retryAfterMs' in err)) return undefined;
  const value = (err as { retryAfterMs: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Resolves after `ms`, or false at once when `signal` aborts, so a shutdown never waits on a backoff. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn`, retrying the failures `shouldRetry` accepts with exponential backoff and full
 * jitter (a wait drawn uniformly from 0 to min(maxDelayMs, baseDelayMs × 2^retry) ms), and
 * waiting at least the server's Retry-After hint when the failure carries one.
 *
 * @throws the last failure of `fn`: at once when `shouldRetry` refuses it, or when the attempts
 * run out, the next wait would end past `deadlineMs`, or `signal` aborts a wait.
 */
export async function retry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 4);
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const retryAfterMs = options.retryAfterMs ?? hintedRetryAfterMs;
  const deadline = Date.now() + options.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !options.shouldRetry(err)) throw err;
      const backoffMs = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.max(backoffMs, retryAfterMs(err) ?? 0);
      // Waiting only to start an attempt after the deadline would spend the caller's time for nothing.
      if (Date.now() + delayMs >= deadline) throw err;
      if (!(await sleep(delayMs, options.signal))) throw err;
    }
  }
}
