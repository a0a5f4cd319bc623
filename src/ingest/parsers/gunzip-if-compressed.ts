import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidInputError } from '../../lib/errors.js';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * Passes bytes through, or gunzips them when they start with the gzip magic bytes (so a
 * `.gz` upload needs no flag). Concatenated gzip members are read as one stream.
 * @throws InvalidInputError when the gzip data is corrupt or truncated.
 */
export async function* gunzipIfCompressed(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let isSourceDone = false;
  // One chunk can be shorter than the two magic bytes; a network stream may split anywhere.
  while (head.length < GZIP_MAGIC.length && !isSourceDone) {
    const next = await iterator.next();
    if (next.done) isSourceDone = true;
    else head = Buffer.concat([head, next.value]);
  }
  const rest = replay(head, iterator, isSourceDone);
  if (head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1]) {
    yield* rest;
    return;
  }
  const gunzip = createGunzip();
  // pipeline destroys every stream with the first error, so source and zlib errors both
  // reach the loop below; an early break destroys the source in turn.
  pipeline(Readable.from(rest, { objectMode: false }), gunzip, () => {});
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (isZlibError(err)) throw new InvalidInputError(`the gzip data is corrupt or truncated (${err.message})`, [], { cause: err });
    throw err;
  }
}

async function* replay(head: Buffer, iterator: AsyncIterator<Uint8Array>, isSourceDone: boolean): AsyncGenerator<Uint8Array> {
  let isDone = isSourceDone;
  try {
    if (head.length > 0) yield head;
    while (!isDone) {
      const next = await iterator.next();
      if (next.done) isDone = true;
      else yield next.value;
    }
  } finally {
    if (!isDone) await iterator.return?.();
  }
}

function isZlibError(err: unknown): err is Error {
  const code: unknown = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
}
