import { join } from 'node:path';
import type { Config } from '../config.js';
import { DirectoryStorage } from './directory-storage.js';
import type { UploadStorage } from './upload-storage.js';

type StorageConfig = Pick<Config, 'dataDir' | 'uploadsDir' | 'uploadsS3Bucket' | 'uploadsS3Prefix' | 'uploadsS3Endpoint' | 'uploadsS3Region' | 'uploadsS3AccessKeyId' | 'uploadsS3SecretAccessKey' | 'uploadsS3PathStyle'>;

/** The configured upload storage: an S3 bucket when one is named, else a directory (default: the data dir's uploads/). */
export async function openUploadStorage(config: StorageConfig): Promise<UploadStorage> {
  if (config.uploadsS3Bucket) {
    // Loaded only when used: the AWS SDK is large, and warns at import on Node 20.
    const { S3Storage } = await import('./s3-storage.js');
    const storage = new S3Storage({
      bucket: config.uploadsS3Bucket,
      prefix: config.uploadsS3Prefix,
      endpoint: config.uploadsS3Endpoint || undefined,
      region: config.uploadsS3Region,
      accessKeyId: config.uploadsS3AccessKeyId || undefined,
      secretAccessKey: config.uploadsS3SecretAccessKey || undefined,
      forcePathStyle: config.uploadsS3PathStyle,
    });
    await storage.ensureBucket();
    return storage;
  }
  return new DirectoryStorage(config.uploadsDir || join(config.dataDir, 'uploads'));
}
