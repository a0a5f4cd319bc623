import { finished } from 'node:stream/promises';

/** Coalesce rows into writes of about this size: HTTP responses then carry 64 KiB chunks, not one per row. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Byte output for the export writers: coalesces chunks, honours backpressure (waits for
 * 'drain' when `write()` returns false), remembers the first sink error and ends the sink.
 */
export class SinkWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private failure: Error | undefined;

  constructor(private readonly sink: NodeJS.WritableStream) {
    // Without a listener a client disconnect would crash the process; the error resurfaces
    // from the next write() or end() instead.
    sink.on('error', (err: Error) => {
      this.failure ??= err;
    });
  }

  /** Queues `chunk` (copied, so the caller may reuse its buffer) and flushes past 64 KiB. */
  async write(chunk: Uint8Array | string): Promise<void> {
    this.throwIfFailed();
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= CHUNK_BYTES) await this.flush();
  }

  /** Sends what is queued, then waits until the sink can take more. */
  private async flush(): Promise<void> {
    this.throwIfFailed();
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (isDestroyed(this.sink)) throw new Error('export sink was closed before the export ended');
    if (!this.sink.write(chunk)) await waitForDrain(this.sink);
    this.throwIfFailed();
  }

  /** Flushes, ends the sink and resolves once it has finished (rejects if it failed). */
  async end(): Promise<void> {
    await this.flush();
    this.sink.end();
    await finished(this.sink, { readable: false });
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

/** Whether the stream was destroyed (a gone client, a failed pipeline): writes would be lost. */
function isDestroyed(stream: NodeJS.WritableStream): boolean {
  return 'destroyed' in stream && stream.destroyed === true;
}

/** Resolves on 'drain'; rejects if the stream errors or closes first, so a gone client cannot hang us. */
export function waitForDrain(stream: NodeJS.WritableStream): Promise<void> {
  // A destroyed stream has already emitted 'close' and will never drain.
  if (isDestroyed(stream)) return Promise.reject(new Error('export sink was closed before it drained'));
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('export sink was closed before it drained'));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
