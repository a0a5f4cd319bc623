import { describe, expect, it } from 'vitest';
import { retry } from './retry.js';

class Flaky extends Error {
  constructor(readonly isTransient: boolean, readonly retryAfterMs?: number) {
    super(isTransient ? 'transient' : 'permanent');
  }
}

const isTransient = (err: unknown) => err instanceof Flaky && err.isTransient;

/** A function that fails with the given errors in turn, then returns 'ok'. */
function failing(...errors: Error[]) {
  let calls = 0;
  const fn = async () => {
    const err = errors[calls++];
    if (err) throw err;
    return 'ok';
  };
  return { fn, calls: () => calls };
}

describe('retry', () => {
  it('returns the first success without waiting', async () => {
    const { fn, calls } = failing();
    await expect(retry(fn, { deadlineMs: 1000, shouldRetry: isTransient })).resolves.toBe('ok');
    expect(calls()).toBe(1);
  });

  it('retries accepted failures and returns the later success', async () => {
    const { fn, calls } = failing(new Flaky(true), new Flaky(true));
    await expect(retry(fn, { deadlineMs: 1000, baseDelayMs: 1, shouldRetry: isTransient })).resolves.toBe('ok');
    expect(calls()).toBe(3);
  });

  it('gives up after 4 attempts by default and throws the last failure', async () => {
    const last = new Flaky(true);
    const { fn, calls } = failing(new Flaky(true), new Flaky(true), new Flaky(true), last, new Flaky(true));
    await expect(retry(fn, { deadlineMs: 1000, baseDelayMs: 1, shouldRetry: isTransient })).rejects.toBe(last);
    expect(calls()).toBe(4);
  });

  it('never retries a failure the predicate refuses', async () => {
    const permanent = new Flaky(false);
    const { fn, calls } = failing(permanent);
    await expect(retry(fn, { deadlineMs: 1000, baseDelayMs: 1, shouldRetry: isTransient })).rejects.toBe(permanent);
    expect(calls()).toBe(1);
  });

  it('waits at least the Retry-After hint the failure carries', async () => {
    const { fn, calls } = failing(new Flaky(true, 120));
    const started = Date.now();
    await expect(retry(fn, { deadlineMs: 5000, baseDelayMs: 0, shouldRetry: isTransient })).resolves.toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
    expect(calls()).toBe(2);
  });

  it('reads the hint through a custom accessor', async () => {
    const { fn } = failing(new Flaky(true));
    const started = Date.now();
    await retry(fn, { deadlineMs: 5000, baseDelayMs: 0, shouldRetry: isTransient, retryAfterMs: () => 80 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('throws at once rather than wait past the deadline', async () => {
    const first = new Flaky(true, 10_000);
    const { fn, calls } = failing(first);
    const started = Date.now();
    await expect(retry(fn, { deadlineMs: 200, shouldRetry: isTransient })).rejects.toBe(first);
    expect(calls()).toBe(1);
    expect(Date.now() - started).toBeLessThan(150);
  });

  it('keeps each backoff under maxDelayMs', async () => {
    const { fn, calls } = failing(new Flaky(true), new Flaky(true), new Flaky(true));
    const started = Date.now();
    await retry(fn, { deadlineMs: 5000, baseDelayMs: 10_000, maxDelayMs: 20, shouldRetry: isTransient });
    expect(calls()).toBe(4);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('stops waiting when the signal aborts and throws the last failure', async () => {
    const first = new Flaky(true, 10_000);
    const { fn, calls } = failing(first);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    await expect(retry(fn, { deadlineMs: 60_000, shouldRetry: isTransient, signal: controller.signal })).rejects.toBe(first);
    expect(calls()).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
