import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { PayloadTooLargeError } from '../lib/errors.js';
import { openUploadStorage } from './open-upload-storage.js';
import { DirectoryStorage } from './directory-storage.js';
import { S3Storage } from './s3-storage.js';
import type { UploadStorage } from './upload-storage.js';

/**
 * One contract for every upload storage. S3 runs against a real S3-compatible server at
 * S3_TEST_URL (.ci/run starts moto's server mode; docker-compose has MinIO).
 */
const S3_URL = process.env.S3_TEST_URL;

async function readAll(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/** A body of `bytes` bytes, streamed in 64 KiB chunks of unknown total length (like a request body). */
function streamOf(bytes: number): Readable {
  let left = bytes;
  return new Readable({
    read() {
      const n = Math.min(65_536, left);
      left -= n;
      this.push(n === 0 ? null : Buffer.alloc(n, 0x61 + (left % 26)));
    },
  });
}

function runContract(name: string, make: () => Promise<UploadStorage>): void {
  describe(`upload storage contract: ${name}`, () => {
    let storage: UploadStorage;
    beforeAll(async () => {
      storage = await make();
    });

    it('stores a streamed upload, reads it back from the start, lists and removes it', async () => {
      const key = `${crypto.randomUUID()}.upload`;
      const text = Array.from({ length: 2000 }, (_, i) => `{"id":"${i}"}`).join('\n');
      expect(await storage.put(key, Readable.from([Buffer.from(text)]), { maxBytes: 1_000_000 })).toBe(Buffer.byteLength(text));
      expect(await storage.exists(key)).toBe(true);
      expect((await readAll(await storage.open(key))).toString()).toBe(text);
      // Read twice: a resumed plan reads the upload again from its start.
      expect((await readAll(await storage.open(key))).toString()).toBe(text);
      expect((await storage.list()).find((u) => u.key === key)).toMatchObject({ bytes: Buffer.byteLength(text) });
      await storage.remove(key);
      expect(await storage.exists(key)).toBe(false);
      await storage.remove(key);
      await expect(storage.open(key)).rejects.toMatchObject({ code: 'not-found' });
    });

    it('streams an upload larger than one multipart part without a length, and refuses one past the limit, keeping nothing', async () => {
      const big = `${crypto.randomUUID()}.upload`;
      expect(await storage.put(big, streamOf(9 * 1024 * 1024), { maxBytes: 10 * 1024 * 1024 })).toBe(9 * 1024 * 1024);
      expect((await readAll(await storage.open(big))).length).toBe(9 * 1024 * 1024);
      await storage.remove(big);
      const tooBig = `${crypto.randomUUID()}.upload`;
      await expect(storage.put(tooBig, streamOf(300_000), { maxBytes: 100_000 })).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect(await storage.exists(tooBig)).toBe(false);
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'biovec-storage-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

runContract('directory', async () => new DirectoryStorage(join(dir, 'uploads')));

describe.skipIf(!S3_URL)(`S3 ${S3_URL ? `at ${S3_URL}` : '(skipped: set S3_TEST_URL to an S3-compatible server; .ci/run starts one)'}`, () => {
  const bucket = `biovec-test-${Math.random().toString(36).slice(2, 10)}`;
  runContract('s3', async () => {
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    // The bucket does not exist yet: openUploadStorage creates it, as a fresh MinIO needs.
    const storage = await openUploadStorage({ ...loadConfig({}), uploadsS3Bucket: bucket, uploadsS3Endpoint: S3_URL!, uploadsS3AccessKeyId: credentials.accessKeyId, uploadsS3SecretAccessKey: credentials.secretAccessKey });
    expect(storage).toBeInstanceOf(S3Storage);
    return storage;
  });
});
