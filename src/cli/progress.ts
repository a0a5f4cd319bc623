import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets the total once known (bytes or items). */
  setTotal(total: number): void;
  update(value: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

const quiet: Progress = { setTotal() {}, update() {}, stop() {} };

/**
 * A progress bar with rate and ETA on stderr when it is a terminal; nothing otherwise, so
 * logs and pipes stay clean.
 */
export function createProgress(label: string, opts: { unit: 'bytes' | 'items'; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? process.stderr;
  if (!stream.isTTY) return quiet;
  const format =
    opts.unit === 'bytes'
      ? `${label} [{bar}] {percentage}% | {done} | {speed}/s | ETA {eta_formatted}`
      : `${label} [{bar}] {percentage}% | {value}/{total} | {speed}/s | ETA {eta_formatted}`;
  const bar = new cliProgress.SingleBar(
    { format, stream, hideCursor: true, etaBuffer: 50, fps: 5, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let total = 0;
  bar.start(1, 0, { speed: '0', done: '0 B' });
  return {
    setTotal(value) {
      total = value;
      bar.setTotal(Math.max(1, value));
    },
    update(value, payload = {}) {
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      const speed = opts.unit === 'bytes' ? humanBytes(value / seconds) : (value / seconds).toFixed(1);
      bar.update(value, { speed, done: opts.unit === 'bytes' ? `${humanBytes(value)}${total ? ` of ${humanBytes(total)}` : ''}` : String(value), ...payload });
    },
    stop() {
      bar.stop();
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
