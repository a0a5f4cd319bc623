import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipIfCompressed } from './gunzip-if-compressed.js';
import { collect, streamOf } from './testing.js';

const textOf = async (source: AsyncIterable<Uint8Array>): Promise<string> => Buffer.concat(await collect(gunzipIfCompressed(source))).toString();

describe('gunzipIfCompressed', () => {
  it('passes plain bytes through, even in one-byte chunks and when empty', async () => {
    expect(await textOf(streamOf('hello', 1))).toBe('hello');
    expect(await textOf(streamOf('h'))).toBe('h');
    expect(await textOf(streamOf(''))).toBe('');
  });

  it('gunzips by magic bytes, concatenated members included', async () => {
    const members = Buffer.concat([gzipSync('first '), gzipSync('second')]);
    expect(await textOf(streamOf(members, 1))).toBe('first second');
  });

  it('closes the source when the reader stops early', async () => {
    let isClosed = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) yield gzipSync('chunk');
      } finally {
        isClosed = true;
      }
    }
    for await (const chunk of gunzipIfCompressed(endless())) {
      expect(Buffer.from(chunk).toString()).toMatch(/^(chunk)+$/);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(isClosed).toBe(true);
  });
});
