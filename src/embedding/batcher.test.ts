import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../lib/errors.js';
import { Batcher } from './batcher.js';

const seq = (length: number, tag = length) => Int32Array.from({ length }, () => tag);

/** A batcher whose "inference" records batches and resolves when released. */
function harness(opts: Partial<{ maxBatchTokens: number; maxBatchSize: number; maxQueuedTokens: number }> = {}) {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const batcher = new Batcher<number>({
    maxBatchTokens: opts.maxBatchTokens ?? 100,
    maxBatchSize: opts.maxBatchSize ?? 64,
    maxQueuedTokens: opts.maxQueuedTokens ?? 10_000,
    runBatch: async (sequences) => {
      batches.push(sequences.map((s) => s[0]!));
      await new Promise<void>((r) => gates.push(r));
      return sequences.map((s) => s[0]!);
    },
  });
  const releaseAll = async () => {
    while (batcher.stats().queuedTokens > 0 || gates.length > 0) {
      gates.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  return { batcher, batches, releaseAll };
}

describe('Batcher', () => {
  it('returns results in submission order', async () => {
    const { batcher, releaseAll } = harness();
    const done = batcher.submit([seq(5, 1), seq(30, 2), seq(6, 3)]);
    await releaseAll();
    expect(await done).toEqual([1, 2, 3]);
  });

  it('caps padded tokens per batch (longest × rows) and groups similar lengths', async () => {
    const { batcher, batches, releaseAll } = harness({ maxBatchTokens: 40 });
    const lengths = [10, 3, 9, 4, 10, 3, 20, 4];
    const done = batcher.submit(lengths.map((l, i) => seq(l, i)));
    await releaseAll();
    await done;
    for (const batch of batches) {
      const ls = batch.map((i) => lengths[i]!);
      expect(Math.max(...ls) * ls.length).toBeLessThanOrEqual(40);
    }
    // The short texts (3, 4) share batches with each other, not with the long ones.
    const shortBatches = batches.filter((b) => b.some((i) => lengths[i]! <= 4));
    for (const b of shortBatches) expect(b.every((i) => lengths[i]! <= 4)).toBe(true);
    expect(batcher.stats().paddingEfficiency).toBeGreaterThan(0.8);
  });

  it('runs a single sequence longer than the budget alone rather than never', async () => {
    const { batcher, batches, releaseAll } = harness({ maxBatchTokens: 10 });
    const done = batcher.submit([seq(50, 7)]);
    await releaseAll();
    expect(await done).toEqual([7]);
    expect(batches).toEqual([[7]]);
  });

  it('serves interactive work before queued bulk work', async () => {
    const { batcher, batches, releaseAll } = harness({ maxBatchSize: 1 });
    const bulk = batcher.submit([seq(5, 1), seq(5, 2), seq(5, 3)], { priority: 'bulk' });
    await new Promise((r) => setTimeout(r, 1)); // bulk batch 1 is running, batch 2 prepared
    const query = batcher.submit([seq(5, 99)], { priority: 'interactive' });
    await releaseAll();
    await Promise.all([bulk, query]);
    const order = batches.map((b) => b[0]);
    expect(order.indexOf(99)).toBeLessThan(order.indexOf(3));
  });

  it('refuses work past the queue bound with OverloadedError and a retry hint', async () => {
    const { batcher, releaseAll } = harness({ maxQueuedTokens: 20 });
    const first = batcher.submit([seq(5), seq(5)]);
    const second = batcher.submit([seq(5), seq(5)]);
    let err: unknown;
    try {
      batcher.submit([seq(11)]); // 10 waiting + 11 > 20 (the first 10 are running)
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OverloadedError);
    expect((err as OverloadedError).retryAfterS).toBeGreaterThanOrEqual(1);
    await releaseAll();
    await Promise.all([first, second]);
  });

  it('refuses, with a Retry-After, a request that would wait past its time bound at the measured rate', async () => {
    let clock = 0;
    const gates: (() => void)[] = [];
    const batcher = new Batcher<number>({
      maxBatchTokens: 100, maxBatchSize: 10, maxQueuedTokens: 1_000_000, now: () => clock,
      runBatch: async (s) => {
        await new Promise<void>((r) => gates.push(r));
        clock += s.reduce((n, x) => n + x.length, 0) * 10; // 100 tokens/s
        return s.map((x) => x.length);
      },
    });
    const release = async () => {
      while (gates.length > 0 || batcher.stats().queuedTokens > 0) {
        gates.shift()?.();
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const measured = batcher.submit([seq(50), seq(50)]);
    await release();
    await measured;
    // 1500 bulk tokens ahead at 100 tokens/s: 15 s of work.
    const bulk = batcher.submit(Array.from({ length: 30 }, () => seq(50)), { priority: 'bulk' });
    expect(batcher.estimatedWaitMs('bulk')).toBeCloseTo(15_000);
    let err: unknown;
    try {
      batcher.submit([seq(50)], { priority: 'bulk', maxQueueWaitMs: 10_000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OverloadedError);
    expect((err as OverloadedError).retryAfterS).toBe(5);
    const accepted = [
      batcher.submit([seq(50)], { priority: 'bulk', maxQueueWaitMs: 20_000 }),
      // Interactive work goes first: only the two batches already taken (2 s) are ahead of it.
      batcher.submit([seq(50)], { priority: 'interactive', maxQueueWaitMs: 10_000 }),
      // Without a time bound only the token bound applies.
      batcher.submit([seq(50)], { priority: 'bulk' }),
    ];
    await release();
    await Promise.all([bulk, ...accepted]);
    expect(batcher.estimatedWaitMs('bulk')).toBe(0);
  });

  it('drops queued work whose signal aborted, and rejects it with the reason', async () => {
    const { batcher, batches, releaseAll } = harness({ maxBatchSize: 1 });
    const kept = batcher.submit([seq(5, 1), seq(5, 2)]);
    const controller = new AbortController();
    const dropped = batcher.submit([seq(5, 3)], { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort(new Error('client went away'));
    await releaseAll();
    expect(await dropped).toMatchObject({ message: 'client went away' });
    expect(await kept).toEqual([1, 2]);
    expect(batches.flat()).not.toContain(3);
  });

  it('hands the runner the following batch while one runs, so a worker never waits on the event loop', async () => {
    const { batcher, batches, releaseAll } = harness({ maxBatchSize: 1 });
    const done = batcher.submit([seq(5, 1), seq(5, 2), seq(5, 3)]);
    await new Promise((r) => setTimeout(r, 1));
    // Nothing has finished, yet the second batch is already the runner's (the third waits).
    expect(batches).toEqual([[1], [2]]);
    await releaseAll();
    expect(await done).toEqual([1, 2, 3]);
    expect(batches).toEqual([[1], [2], [3]]);
  });

  it('rejects only its own sequences when the batch handed over early fails', async () => {
    let release: () => void = () => {};
    let calls = 0;
    const batcher = new Batcher<number>({
      maxBatchTokens: 100, maxBatchSize: 1, maxQueuedTokens: 1000,
      runBatch: async (s) => {
        calls += 1;
        if (calls === 1) await new Promise<void>((r) => { release = r; });
        if (calls === 2) throw new Error('onnxruntime failed');
        return s.map((x) => x.length);
      },
    });
    const first = batcher.submit([seq(3)]);
    const second = batcher.submit([seq(4)]).catch((e: unknown) => e);
    const third = batcher.submit([seq(5)]);
    // The second batch fails while the first still runs: no unhandled rejection (vitest would fail the run).
    await new Promise((r) => setTimeout(r, 5));
    release();
    expect(await first).toEqual([3]);
    expect(await second).toMatchObject({ message: 'onnxruntime failed' });
    expect(await third).toEqual([5]);
  });

  it('rejects every sequence of a batch whose inference failed, and keeps serving', async () => {
    let fail = true;
    const batcher = new Batcher<number>({
      maxBatchTokens: 100, maxBatchSize: 64, maxQueuedTokens: 1000,
      runBatch: async (s) => {
        if (fail) { fail = false; throw new Error('onnxruntime failed'); }
        return s.map((x) => x.length);
      },
    });
    await expect(batcher.submit([seq(3), seq(4)])).rejects.toThrow('onnxruntime failed');
    expect(await batcher.submit([seq(3)])).toEqual([3]);
    expect(batcher.stats().queuedTokens).toBe(0);
  });
});
