import { OverloadedError } from '../lib/errors.js';

export type Priority = 'interactive' | 'bulk';

export interface BatcherOptions<R> {
  /** Padded tokens per batch (longest sequence × rows). */
  maxBatchTokens: number;
  /** Rows per batch, whatever their length. */
  maxBatchSize: number;
  /** Tokens waiting across both priorities before submit() refuses with OverloadedError. */
  maxQueuedTokens: number;
  /** Runs one batch of token sequences and returns one result per sequence, in order. */
  runBatch: (sequences: Int32Array[]) => Promise<R[]>;
  /** Milliseconds clock for measuring throughput (tests pass a fake one). */
  now?: () => number;
}

/** What one finished batch did, for metrics. */
export interface BatchObservation {
  rows: number;
  tokens: number;
  paddedTokens: number;
  seconds: number;
}

export interface SubmitOptions {
  priority?: Priority;
  signal?: AbortSignal;
  /**
   * Refuse (OverloadedError) rather than queue when the work ahead of this request would take
   * longer than this, estimated from the measured tokens/s. Unset: only the token bound applies.
   */
  maxQueueWaitMs?: number;
}

interface Item<R> {
  ids: Int32Array;
  signal: AbortSignal | undefined;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

interface Running<R> {
  items: Item<R>[];
  run: Promise<R[]>;
  started: number;
}

export interface BatcherStats {
  queuedTokens: number;
  queuedItems: Record<Priority, number>;
  batches: number;
  /** Real tokens / padded tokens over all batches run, 1 = no padding. */
  paddingEfficiency: number;
}

// How far into a queue the length-grouping looks: bounds the per-batch cost on huge queues
// while still finding similar lengths among an ingestion job's texts.
const SCAN_WINDOW = 2048;
// A sequence joins a batch only if it is at least this fraction of the batch's longest one.
const MIN_FILL = 0.75;

/**
 * The token-budget batcher. Interactive work always goes before bulk work; within a
 * priority the oldest sequence anchors each batch, which is filled with the sequences
 * closest to it in length so little compute is spent on padding. One batch runs while the
 * next is formed. The queue is bounded: past `maxQueuedTokens` submit() throws OverloadedError.
 */
export class Batcher<R> {
  private readonly queues: Record<Priority, Item<R>[]> = { interactive: [], bulk: [] };
  private queuedTokens = 0;
  private readonly queuedTokensBy: Record<Priority, number> = { interactive: 0, bulk: 0 };
  // Taken off the queue (running or prepared) and not yet finished: also ahead of a new request.
  private takenTokens = 0;
  private running = false;
  private batches = 0;
  private realTokens = 0;
  private paddedTokens = 0;
  // A CPU-sized guess until the first batch is measured, then a moving average.
  private tokensPerSecond = 1000;
  private hasMeasured = false;
  private readonly observers: ((b: BatchObservation) => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly opts: BatcherOptions<R>) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Queues sequences and resolves with their results in order. Throws OverloadedError when full. */
  submit(sequences: Int32Array[], options: SubmitOptions = {}): Promise<R[]> {
    const tokens = sequences.reduce((sum, s) => sum + s.length, 0);
    if (this.queuedTokens > 0 && this.queuedTokens + tokens > this.opts.maxQueuedTokens) {
      const retryAfterS = Math.max(1, Math.ceil(this.queuedTokens / this.tokensPerSecond));
      throw new OverloadedError(
        `embedding queue is full (${this.queuedTokens} tokens waiting); retry in ${retryAfterS}s`,
        retryAfterS,
      );
    }
    const priority = options.priority ?? 'interactive';
    if (options.maxQueueWaitMs !== undefined) this.refuseLongWait(priority, options.maxQueueWaitMs);
    options.signal?.throwIfAborted();
    const queue = this.queues[priority];
    const promises = sequences.map(
      (ids) =>
        new Promise<R>((resolve, reject) => {
          queue.push({ ids, signal: options.signal, resolve, reject });
        }),
    );
    this.queuedTokens += tokens;
    this.queuedTokensBy[priority] += tokens;
    void this.pump();
    return Promise.all(promises);
  }

  /** Estimated wait before work of this priority starts: what is ahead of it at the measured rate. */
  estimatedWaitMs(priority: Priority = 'interactive'): number {
    // Interactive work goes before queued bulk work, so only interactive work is ahead of it.
    const ahead = this.takenTokens + (priority === 'interactive' ? this.queuedTokensBy.interactive : this.queuedTokens);
    return (ahead / this.tokensPerSecond) * 1000;
  }

  /** Queue bound in time (issue 10): a request that would wait past its bound is told when to come back. */
  private refuseLongWait(priority: Priority, maxQueueWaitMs: number): void {
    const waitMs = this.estimatedWaitMs(priority);
    if (waitMs <= maxQueueWaitMs) return;
    const retryAfterS = Math.max(1, Math.ceil((waitMs - maxQueueWaitMs) / 1000));
    throw new OverloadedError(
      `the embedding queue holds about ${Math.ceil(waitMs / 1000)}s of work (over the ${Math.ceil(maxQueueWaitMs / 1000)}s bound); retry in ${retryAfterS}s`,
      retryAfterS,
    );
  }

  /** Calls `fn` after every successful batch. */
  observe(fn: (b: BatchObservation) => void): void {
    this.observers.push(fn);
  }

  stats(): BatcherStats {
    return {
      queuedTokens: this.queuedTokens,
      queuedItems: { interactive: this.queues.interactive.length, bulk: this.queues.bulk.length },
      batches: this.batches,
      paddingEfficiency: this.paddedTokens === 0 ? 1 : this.realTokens / this.paddedTokens,
    };
  }

  /** Resolves once every queued sequence has run. */
  async drain(): Promise<void> {
    while (this.running || this.queues.interactive.length + this.queues.bulk.length > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      let current = this.dispatch(this.takeBatch());
      while (current) {
        // The following batch goes to the runner before this one finishes: a worker runner
        // queues it and starts it the moment it is free, however busy the event loop is when
        // this one ends (catalog writes, tokenizing the next texts). What is taken is what the
        // batcher always took (the running batch and one prepared), so priorities hold as before.
        const following = this.dispatch(this.takeBatch());
        await this.settle(current);
        // It waited behind `current`; its own run starts about now.
        if (following) following.started = this.now();
        current = following ?? this.dispatch(this.takeBatch());
      }
    } finally {
      this.running = false;
    }
  }

  private dispatch(items: Item<R>[] | undefined): Running<R> | undefined {
    if (!items) return undefined;
    const run = this.opts.runBatch(items.map((item) => item.ids));
    // Settled later by settle(); until then a failure must not count as unhandled.
    run.catch(() => {});
    return { items, run, started: this.now() };
  }

  private async settle({ items, run, started }: Running<R>): Promise<void> {
    const tokens = items.reduce((sum, item) => sum + item.ids.length, 0);
    try {
      const results = await run;
      const seconds = (this.now() - started) / 1000;
      if (seconds > 0) {
        this.tokensPerSecond = this.hasMeasured ? 0.8 * this.tokensPerSecond + 0.2 * (tokens / seconds) : tokens / seconds;
        this.hasMeasured = true;
      }
      const longest = items.reduce((m, item) => Math.max(m, item.ids.length), 0);
      for (const fn of this.observers) fn({ rows: items.length, tokens, paddedTokens: longest * items.length, seconds });
      items.forEach((item, i) => item.resolve(results[i]!));
    } catch (err) {
      for (const item of items) item.reject(err);
    } finally {
      this.takenTokens -= tokens;
    }
  }

  private takeBatch(): Item<R>[] | undefined {
    this.dropAborted();
    const priority: Priority = this.queues.interactive.length > 0 ? 'interactive' : 'bulk';
    const queue = this.queues[priority];
    const head = queue[0];
    if (!head) return undefined;
    const window = queue.slice(0, SCAN_WINDOW);
    const order = window
      .map((item, index) => ({ index, distance: Math.abs(item.ids.length - head.ids.length) }))
      .sort((a, b) => a.distance - b.distance || a.index - b.index);
    const chosen = new Set<number>();
    let longest = 0;
    for (const { index } of order) {
      if (chosen.size >= this.opts.maxBatchSize) break;
      const length = window[index]!.ids.length;
      const widest = Math.max(longest, length);
      const padded = widest * (chosen.size + 1);
      if (chosen.size > 0) {
        // The head always runs, even alone over budget: a single long text must not starve.
        if (padded > this.opts.maxBatchTokens) continue;
        // Candidates come nearest-length first, so past this one padding would dominate:
        // the rest make better batches among themselves.
        if (Math.min(longest, length) < MIN_FILL * widest) break;
      }
      chosen.add(index);
      longest = Math.max(longest, length);
    }
    const batch: Item<R>[] = [];
    const rest: Item<R>[] = [];
    window.forEach((item, index) => (chosen.has(index) ? batch : rest).push(item));
    queue.splice(0, window.length, ...rest);
    const tokens = batch.reduce((sum, item) => sum + item.ids.length, 0);
    this.queuedTokens -= tokens;
    this.queuedTokensBy[priority] -= tokens;
    this.takenTokens += tokens;
    this.batches += 1;
    this.realTokens += tokens;
    this.paddedTokens += longest * batch.length;
    return batch;
  }

  private dropAborted(): void {
    for (const priority of ['interactive', 'bulk'] as const) {
      const queue = this.queues[priority];
      if (!queue.some((item) => item.signal?.aborted)) continue;
      this.queues[priority] = queue.filter((item) => {
        if (!item.signal?.aborted) return true;
        this.queuedTokens -= item.ids.length;
        this.queuedTokensBy[priority] -= item.ids.length;
        item.reject(item.signal.reason);
        return false;
      });
    }
  }
}
