import { Readable } from 'node:stream';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, NotFound, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NotFoundError, PayloadTooLargeError, UpstreamUnavailableError } from '../lib/errors.js';
import { byteLimit, type StoredUpload, type UploadStorage } from './upload-storage.js';

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix, e.g. "uploads/". */
  prefix: string;
  /** An S3-compatible server (MinIO, Ceph, R2…); unset = AWS. */
  endpoint?: string;
  region: string;
  /** Unset: the SDK's default chain (AWS_ACCESS_KEY_ID…, instance roles). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** bucket in the path, not the host name: what MinIO and most self-hosted servers need. */
  forcePathStyle: boolean;
}

/**
 * Uploads as objects in an S3-compatible bucket. An upload of unknown length (a streamed
 * request body) goes up as a multipart upload of bounded parts (@aws-sdk/lib-storage), so
 * a 20 GB file never sits in memory or on the receiving replica's disk.
 */
export class S3Storage implements UploadStorage {
  readonly kind = 's3';
  private readonly client: S3Client;

  constructor(private readonly opts: S3StorageOptions) {
    this.client = new S3Client({
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.accessKeyId && opts.secretAccessKey ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } } : {}),
      // Checksums only where the API requires them: several S3-compatible servers refuse the
      // SDK's newer default trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Creates the bucket when it does not exist (a fresh MinIO), so a deployment needs no setup step. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw unavailable(err);
      await this.client.send(new CreateBucketCommand({ Bucket: this.opts.bucket })).catch((e: unknown) => {
        // Another replica created it first.
        if ((e as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw unavailable(e);
      });
    }
  }

  async put(key: string, body: Readable, opts: { maxBytes: number }): Promise<number> {
    const limit = byteLimit(opts.maxBytes, () => new PayloadTooLargeError(`uploads are limited to ${opts.maxBytes} bytes`));
    body.on('error', (err) => limit.transform.destroy(err));
    const upload = new Upload({ client: this.client, params: { Bucket: this.opts.bucket, Key: this.keyOf(key), Body: body.pipe(limit.transform) }, queueSize: 2, partSize: 8 * 1024 * 1024, leavePartsOnError: false });
    try {
      await upload.done();
    } catch (err) {
      await this.remove(key).catch(() => undefined);
      if (err instanceof PayloadTooLargeError) throw err;
      const cause = (limit.transform as { errored?: unknown }).errored;
      if (cause instanceof PayloadTooLargeError) throw cause;
      throw unavailable(err);
    }
    return limit.bytes();
  }

  async open(key: string): Promise<AsyncIterable<Uint8Array>> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.keyOf(key) }));
      if (!(res.Body instanceof Readable)) throw new Error('bug: the S3 client returned no stream');
      return res.Body;
    } catch (err) {
      if (err instanceof NoSuchKey || err instanceof NotFound) throw new NotFoundError('upload', key);
      throw unavailable(err);
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.keyOf(key) }));
    } catch (err) {
      throw unavailable(err);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.keyOf(key) }));
      return true;
    } catch (err) {
      if (err instanceof NotFound || err instanceof NoSuchKey || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw unavailable(err);
    }
  }

  async list(): Promise<StoredUpload[]> {
    const out: StoredUpload[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: this.opts.prefix, ContinuationToken: token })).catch((err: unknown) => {
        throw unavailable(err);
      });
      for (const o of page.Contents ?? []) {
        const key = o.Key?.slice(this.opts.prefix.length);
        if (key?.endsWith('.upload')) out.push({ key, bytes: o.Size ?? 0, modifiedMs: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  close(): void {
    this.client.destroy();
  }

  private keyOf(key: string): string {
    if (!/^[\w.-]+$/.test(key)) throw new Error(`bug: upload key ${JSON.stringify(key)} is not a plain name`);
    return `${this.opts.prefix}${key}`;
  }
}

function unavailable(err: unknown): UpstreamUnavailableError {
  return new UpstreamUnavailableError('the upload storage (S3) is unavailable; retry shortly', { cause: err });
}
