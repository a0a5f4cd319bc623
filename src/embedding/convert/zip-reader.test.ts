import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../lib/errors.js';
import { ZipReader } from './zip-reader.js';

const SAT32 = 0xffffffff;

/**
 * A one-entry archive built by hand. zip64 saturates every 32-bit field and moves the values
 * into ZIP64 extra fields and end records, as torch's writer does past 4 GB, without
 * needing a 4 GB file to test it.
 */
function archive(name: string, payload: Buffer, opts: { zip64: boolean; deflate: boolean }): Buffer {
  const stored = opts.deflate ? deflateRawSync(payload) : payload;
  const nameBytes = Buffer.from(name);
  const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  const method = u16(opts.deflate ? 8 : 0);
  const sizes = opts.zip64 ? [u32(SAT32), u32(SAT32)] : [u32(stored.length), u32(payload.length)];
  const localExtra = opts.zip64 ? Buffer.concat([u16(1), u16(16), u64(payload.length), u64(stored.length)]) : Buffer.alloc(0);
  const local = Buffer.concat([u32(0x04034b50), u16(45), u16(0), method, u16(0), u16(0), u32(0), ...sizes, u16(nameBytes.length), u16(localExtra.length), nameBytes, localExtra, stored]);
  const centralExtra = opts.zip64 ? Buffer.concat([u16(1), u16(24), u64(payload.length), u64(stored.length), u64(0)]) : Buffer.alloc(0);
  const central = Buffer.concat([
    u32(0x02014b50), u16(45), u16(45), u16(0), method, u16(0), u16(0), u32(0), ...sizes,
    u16(nameBytes.length), u16(centralExtra.length), u16(0), u16(0), u16(0), u32(0), u32(opts.zip64 ? SAT32 : 0), nameBytes, centralExtra,
  ]);
  const cdOffset = local.length;
  if (!opts.zip64) {
    return Buffer.concat([local, central, u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(central.length), u32(cdOffset), u16(0)]);
  }
  const recordOffset = cdOffset + central.length;
  const record = Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(1), u64(1), u64(central.length), u64(cdOffset)]);
  const locator = Buffer.concat([u32(0x07064b50), u32(0), u64(recordOffset), u32(1)]);
  const eocd = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(SAT32), u32(SAT32), u16(0)]);
  return Buffer.concat([local, central, record, locator, eocd]);
}

describe('ZipReader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'biovec-zip-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const payload = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const cases = [
    { zip64: false, deflate: false },
    { zip64: true, deflate: false },
    { zip64: false, deflate: true },
  ];
  for (const opts of cases) {
    it(`reads an entry and a byte range of it (zip64 ${opts.zip64}, deflate ${opts.deflate})`, async () => {
      const path = join(dir, `a-${opts.zip64}-${opts.deflate}.zip`);
      await writeFile(path, archive('archive/data/0', payload, opts));
      const zip = await ZipReader.open(path);
      try {
        const entry = zip.entries.get('archive/data/0')!;
        expect(entry.size).toBe(payload.length);
        expect(Buffer.from(await zip.read(entry))).toEqual(payload);
        expect(Buffer.from(await zip.read(entry, 100, 50))).toEqual(payload.subarray(100, 150));
        await expect(zip.read(entry, 990, 20)).rejects.toThrow(/read past the end/);
      } finally {
        await zip.close();
      }
    });
  }

  it('refuses a file that is not a zip archive, or a truncated one', async () => {
    const notZip = join(dir, 'not.zip');
    await writeFile(notZip, Buffer.alloc(100, 7));
    await expect(ZipReader.open(notZip)).rejects.toThrow(ModelError);
    const truncated = join(dir, 'truncated.zip');
    const whole = archive('x', payload, { zip64: false, deflate: false });
    await writeFile(truncated, whole.subarray(0, whole.length - 10));
    await expect(ZipReader.open(truncated)).rejects.toThrow(/not a valid zip archive/);
  });
});
