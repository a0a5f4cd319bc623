import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets the total once known (bytes or items). */
  setTotal(total: number): void;
  /** `count`: the second counter (records of a file read by bytes), when the progress has one. */
  update(value: number, payload?: { count?: number }): void;
  stop(): void;
}

export interface ProgressOptions {
  unit: 'bytes' | 'items';
  /** Names a second counter shown beside the bytes, e.g. 'records'. */
  countLabel?: string;
  stream?: NodeJS.WriteStream;
  /** Off a terminal: also print a line when the work ends, however short (one per downloaded file). */
  shouldAnnounceEnd?: boolean;
  /** Off a terminal: the least time between two progress lines. */
  lineIntervalMs?: number;
}

/**
 * A progress bar with rate and ETA on stderr when it is a terminal. Elsewhere (logs, CI, a
 * server under systemd) plain lines instead: one every `lineIntervalMs` while the work lasts,
 * so a long run never sits silent, and none for quick work, so pipes stay clean.
 */
export function createProgress(label: string, opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY ? createBar(label, opts, stream) : createLines(label, opts, stream);
}

function createBar(label: string, opts: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const count = opts.countLabel ? ` | {count} ${opts.countLabel}` : '';
  const format =
    opts.unit === 'bytes'
      ? `${label} [{bar}] {percentage}%${count} | {done} | {speed}/s | ETA {eta_formatted}`
      : `${label} [{bar}] {percentage}% | {value}/{total} | {speed}/s | ETA {eta_formatted}`;
  const bar = new cliProgress.SingleBar(
    { format, stream, hideCursor: true, etaBuffer: 50, fps: 5, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let total = 0;
  bar.start(1, 0, { speed: '0', done: '0 B', count: 0 });
  return {
    setTotal(value) {
      total = value;
      bar.setTotal(Math.max(1, value));
    },
    update(value, payload = {}) {
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      const speed = opts.unit === 'bytes' ? humanBytes(value / seconds) : (value / seconds).toFixed(1);
      bar.update(value, { speed, done: opts.unit === 'bytes' ? `${humanBytes(value)}${total ? ` of ${humanBytes(total)}` : ''}` : String(value), ...(payload.count === undefined ? {} : { count: payload.count }) });
    },
    stop() {
      bar.stop();
    },
  };
}

function createLines(label: string, opts: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const intervalMs = opts.lineIntervalMs ?? 5_000;
  const started = Date.now();
  let lastLineAt = started;
  let hasPrinted = false;
  let isStopped = false;
  let total = 0;
  let value = 0;
  let count: number | undefined;
  const describe = () => {
    const amount = opts.unit === 'bytes' ? `${humanBytes(value)}${total ? ` of ${humanBytes(total)}` : ''}` : `${value}${total ? ` of ${total}` : ''}`;
    const percent = total ? ` (${Math.min(100, Math.floor((100 * value) / total))}%)` : '';
    const counted = opts.countLabel && count !== undefined ? `${count} ${opts.countLabel}, ` : '';
    return `${counted}${amount}${percent}`;
  };
  return {
    setTotal(next) {
      total = next;
    },
    update(next, payload = {}) {
      value = next;
      if (payload.count !== undefined) count = payload.count;
      const now = Date.now();
      if (now - lastLineAt < intervalMs) return;
      lastLineAt = now;
      hasPrinted = true;
      stream.write(`biovec: ${label}: ${describe()}\n`);
    },
    stop() {
      if (isStopped) return;
      isStopped = true;
      if (hasPrinted || opts.shouldAnnounceEnd) stream.write(`biovec: ${label}: done, ${describe()} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
