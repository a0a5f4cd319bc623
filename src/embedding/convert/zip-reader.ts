import { open, stat, type FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { ModelError } from '../../lib/errors.js';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. torch.save writes stored entries, so storages can be read in place. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

/**
 * Random-access reader for the zip archives torch.save writes (stored entries, ZIP64 past
 * 4 GB). Written here rather than taken from npm: the libraries at hand (adm-zip, a transitive
 * dependency) read the whole archive into memory, which a multi-GB checkpoint must not need.
 */
export class ZipReader {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly size: number,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  /** Throws ModelError when the file is not a zip archive or its directory is corrupt. */
  static async open(path: string): Promise<ZipReader> {
    const size = (await stat(path)).size;
    const handle = await open(path, 'r');
    try {
      return new ZipReader(path, handle, size, await readDirectory(handle, size, path));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Reads `length` bytes starting `offset` bytes into the entry's uncompressed data. */
  async read(entry: ZipEntry, offset = 0, length = entry.size - offset): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > entry.size) {
      throw new ModelError(`${this.path}: read past the end of ${entry.name}`);
    }
    const header = await this.readAt(entry.localHeaderOffset, 30);
    const view = new DataView(header.buffer);
    if (view.getUint32(0, true) !== LOCAL) throw this.corrupt(`no local header for ${entry.name}`);
    const dataStart = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (entry.method === 0) return this.readAt(dataStart + offset, length);
    if (entry.method !== 8) throw new ModelError(`${this.path}: ${entry.name} uses zip compression method ${entry.method}`);
    const whole = inflateRawSync(await this.readAt(dataStart, entry.compressedSize));
    if (whole.length !== entry.size) throw this.corrupt(`${entry.name} inflates to ${whole.length} bytes, not ${entry.size}`);
    return new Uint8Array(whole.subarray(offset, offset + length));
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private corrupt(why: string): ModelError {
    return new ModelError(`${this.path} is not a valid zip archive (${why}); download it again`);
  }

  private async readAt(position: number, length: number): Promise<Uint8Array> {
    return readExact(this.handle, position, length, this.size, () => this.corrupt('truncated'));
  }
}

async function readExact(handle: FileHandle, position: number, length: number, size: number, corrupt: () => Error): Promise<Uint8Array> {
  if (position < 0 || position + length > size) throw corrupt();
  // A fresh ArrayBuffer keeps typed-array views of the result aligned.
  const bytes = new Uint8Array(new ArrayBuffer(length));
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) throw corrupt();
    done += bytesRead;
  }
  return bytes;
}

async function readDirectory(handle: FileHandle, size: number, path: string): Promise<Map<string, ZipEntry>> {
  const corrupt = (why: string) => new ModelError(`${path} is not a valid zip archive (${why}); download it again`);
  const tailLength = Math.min(size, 22 + MAX_COMMENT);
  const tail = await readExact(handle, size - tailLength, tailLength, size, () => corrupt('truncated'));
  const tv = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt('no end-of-central-directory record');
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locatorAt = size - tailLength + eocd - 20;
    const locator = new DataView((await readExact(handle, locatorAt, 20, size, () => corrupt('truncated'))).buffer);
    if (locator.getUint32(0, true) !== ZIP64_LOCATOR) throw corrupt('no ZIP64 locator');
    const recordAt = Number(locator.getBigUint64(8, true));
    const record = new DataView((await readExact(handle, recordAt, 56, size, () => corrupt('truncated'))).buffer);
    if (record.getUint32(0, true) !== ZIP64_EOCD) throw corrupt('no ZIP64 end record');
    count = Number(record.getBigUint64(32, true));
    cdSize = Number(record.getBigUint64(40, true));
    cdOffset = Number(record.getBigUint64(48, true));
  }
  const cd = await readExact(handle, cdOffset, cdSize, size, () => corrupt('central directory out of range'));
  return parseCentralDirectory(cd, count, corrupt);
}

function parseCentralDirectory(cd: Uint8Array, count: number, corrupt: (why: string) => Error): Map<string, ZipEntry> {
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || view.getUint32(at, true) !== CENTRAL) throw corrupt(`bad central directory entry ${i}`);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const name = Buffer.from(cd.subarray(at + 46, at + 46 + nameLength)).toString('utf8');
    let size = view.getUint32(at + 24, true);
    let compressedSize = view.getUint32(at + 20, true);
    let localHeaderOffset = view.getUint32(at + 42, true);
    // ZIP64 extra field: only the fields saturated in the fixed header are present, in this order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let field = extra + 4;
        const next = () => {
          const value = Number(view.getBigUint64(field, true));
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      extra += 4 + length;
    }
    entries.set(name, { name, method: view.getUint16(at + 10, true), compressedSize, size, localHeaderOffset });
    at = extraEnd + commentLength;
  }
  return entries;
}
