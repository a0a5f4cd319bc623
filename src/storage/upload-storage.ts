import { Transform, type Readable } from 'node:stream';

/** An upload as a listing shows it. */
export interface StoredUpload {
  key: string;
  bytes: number;
  modifiedMs: number;
}

/**
 * Where import uploads live until their job ends: storage every process of a deployment
 * reaches (a shared directory, or an S3-compatible bucket), so whichever process claims the
 * job can read its file. Keys are names biovec made (`<uuid>.upload`), never user input.
 */
export interface UploadStorage {
  /** 'directory' | 's3', for /info and logs. */
  readonly kind: string;
  /**
   * Streams `body` into a new upload without holding it in memory.
   * @returns the bytes stored. @throws PayloadTooLargeError past `maxBytes` (nothing is kept).
   */
  put(key: string, body: Readable, opts: { maxBytes: number }): Promise<number>;
  /** Reads an upload from its start. @throws NotFoundError when it is gone. */
  open(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Removes an upload; removing one that is gone is not an error. */
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every upload, for removing those no job names. */
  list(): Promise<StoredUpload[]>;
}

/** Passes chunks through while counting them, failing once more than `maxBytes` went by. */
export function byteLimit(maxBytes: number, onTooLarge: () => Error): { transform: Transform; bytes: () => number } {
  let bytes = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void) {
      bytes += chunk.length;
      if (bytes > maxBytes) done(onTooLarge());
      else done(null, chunk);
    },
  });
  return { transform, bytes: () => bytes };
}
