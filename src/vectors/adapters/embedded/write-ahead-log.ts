import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

const HEADER_BYTES = 8;

/**
 * An append-only log of JSON records, each framed as [length u32][crc32 u32][bytes] and
 * fsynced before append() returns, so an acknowledged write survives SIGKILL or power loss.
 * A torn or corrupt tail (a crash mid-append, never acknowledged) is cut off on replay.
 */
export class WriteAheadLog {
  private constructor(
    private readonly handle: FileHandle,
    private size: number,
  ) {}

  /** Opens (creating) the log and replays its intact records in order. */
  static async open(path: string, onRecord: (record: unknown) => void): Promise<WriteAheadLog> {
    const handle = await open(path, 'a+');
    const bytes = await handle.readFile();
    let offset = 0;
    while (offset + HEADER_BYTES <= bytes.length) {
      const length = bytes.readUInt32LE(offset);
      const checksum = bytes.readUInt32LE(offset + 4);
      const end = offset + HEADER_BYTES + length;
      if (end > bytes.length) break;
      const body = bytes.subarray(offset + HEADER_BYTES, end);
      if (crc32(body) !== checksum) break;
      onRecord(JSON.parse(body.toString('utf8')));
      offset = end;
    }
    if (offset < bytes.length) {
      await handle.truncate(offset);
      await handle.sync();
    }
    return new WriteAheadLog(handle, offset);
  }

  get bytes(): number {
    return this.size;
  }

  /** Appends one record durably. Callers serialise appends. */
  async append(record: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(record), 'utf8');
    const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    frame.writeUInt32LE(body.length, 0);
    frame.writeUInt32LE(crc32(body), 4);
    body.copy(frame, HEADER_BYTES);
    await this.handle.write(frame, 0, frame.length);
    await this.handle.datasync();
    this.size += frame.length;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
