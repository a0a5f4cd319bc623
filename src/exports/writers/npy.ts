import { endianness } from 'node:os';
import type { ExportRow, ExportWriter } from './export-row.js';
import { assertDims, type ExportWriterOptions } from './export-options.js';
import { SinkWriter } from './sink-writer.js';

// numpy/lib/format.py: the data starts at a multiple of ARRAY_ALIGN, and np.save leaves room
// for a 21-digit row count so appenders can grow the shape in place. Matching both makes our
// file byte-identical to np.save of the same float32 array.
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const PREAMBLE_BYTES = MAGIC.length + 2 + 2; // magic, version 1.0, uint16 header length
const IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The .npy v1.0 header for a C-order float32 little-endian matrix of `rows` × `dims`.
 * Throws a plain Error if the header cannot fit v1.0's 16-bit length (it always fits for a matrix).
 */
export function npyHeader(rows: number, dims: number): Buffer {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dims}), }`;
  dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(rows).length));
  // numpy's own arithmetic: the '\n' counts, and an already aligned header still gets 64 spaces.
  const padding = ARRAY_ALIGN - ((PREAMBLE_BYTES + dict.length + 1) % ARRAY_ALIGN);
  const headerLength = dict.length + padding + 1;
  if (headerLength > 0xffff) throw new Error(`bug: npy header of ${headerLength} bytes does not fit v1.0`);
  const header = Buffer.alloc(PREAMBLE_BYTES + headerLength, 0x20);
  MAGIC.copy(header, 0);
  header.writeUInt8(1, 6);
  header.writeUInt8(0, 7);
  header.writeUInt16LE(headerLength, 8);
  header.write(dict, PREAMBLE_BYTES, 'latin1');
  header.write('\n', header.length - 1, 'latin1');
  return header;
}

/**
 * NumPy .npy of float32, shape (rows, dims): `np.load('v.npy')` gives X for a classifier.
 * The header states the shape before any data, so the declared row count is a contract:
 * a different number of rows is a bug in the caller and throws.
 */
export class NpyExportWriter implements ExportWriter {
  readonly contentType = 'application/octet-stream';
  readonly extension = 'npy';
  private readonly out: SinkWriter;
  private readonly rows: number;
  private readonly dims: number;
  private written = 0;
  private hasHeader = false;

  constructor(sink: NodeJS.WritableStream, opts: ExportWriterOptions) {
    if (!Number.isSafeInteger(opts.rows) || opts.rows < 0 || !Number.isSafeInteger(opts.dims) || opts.dims < 1) {
      throw new Error(`bug: npy export needs whole rows >= 0 and dims >= 1, got ${opts.rows} × ${opts.dims}`);
    }
    this.out = new SinkWriter(sink);
    this.rows = opts.rows;
    this.dims = opts.dims;
  }

  async write(row: ExportRow): Promise<void> {
    assertDims(row.vector, this.dims);
    if (this.written >= this.rows) {
      throw new Error(`bug: npy export declared ${this.rows} rows in its header but got more`);
    }
    this.written++;
    await this.writeHeaderOnce();
    await this.out.write(toLittleEndianBytes(row.vector));
  }

  async end(): Promise<void> {
    if (this.written !== this.rows) {
      throw new Error(`bug: npy export declared ${this.rows} rows in its header but got ${this.written}`);
    }
    await this.writeHeaderOnce();
    await this.out.end();
  }

  private async writeHeaderOnce(): Promise<void> {
    if (this.hasHeader) return;
    this.hasHeader = true;
    await this.out.write(npyHeader(this.rows, this.dims));
  }
}

function toLittleEndianBytes(vector: Float32Array): Uint8Array {
  const bytes = new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
  if (IS_LITTLE_ENDIAN) return bytes; // SinkWriter copies, so no defensive copy here
  const swapped = Buffer.from(bytes);
  swapped.swap32();
  return swapped;
}
