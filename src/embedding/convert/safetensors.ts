import { open, stat, type FileHandle } from 'node:fs/promises';
import { ModelError } from '../../lib/errors.js';
import { widenToFloat32 } from './half-float.js';
import type { WeightsSource } from './weights-source.js';

/** The dtypes whose values we can turn into fp32 weights. */
const ELEMENT_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte offset of the tensor's first byte from the start of the file. */
  fileOffset: number;
  byteLength: number;
}

// A header larger than this is a corrupt or hostile file, not a model: real headers of
// multi-billion-parameter checkpoints stay well under a few MB.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * A safetensors file opened for random access. Only the JSON header is read at open;
 * tensors are read one at a time so a 500 MB checkpoint never sits in memory twice.
 */
export class SafetensorsFile implements WeightsSource {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  /** Opens and validates the header. Throws ModelError for a truncated or corrupt file. */
  static async open(path: string): Promise<SafetensorsFile> {
    const size = (await stat(path)).size;
    const handle = await open(path, 'r');
    try {
      const { tensors, metadata } = await readHeader(handle, size, path);
      return new SafetensorsFile(path, handle, tensors, metadata);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  tensorNames(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new ModelError(`${this.path}: tensor ${name} is missing`);
    return info;
  }

  /** Reads a floating-point tensor as fp32, whatever its stored float dtype. */
  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    const bytes = await this.readBytes(info);
    return widenToFloat32(bytes, info.dtype, `${this.path}: tensor ${name}`);
  }

  /** Reads an I64 tensor (reference ids and masks in test fixtures). */
  async readInt64(name: string): Promise<BigInt64Array> {
    const info = this.info(name);
    if (info.dtype !== 'I64') throw new ModelError(`${this.path}: tensor ${name} has dtype ${info.dtype}, expected I64`);
    const bytes = await this.readBytes(info);
    return new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  }

  private async readBytes(info: TensorInfo): Promise<Uint8Array> {
    // A fresh ArrayBuffer per tensor keeps typed-array views aligned.
    const bytes = new Uint8Array(new ArrayBuffer(info.byteLength));
    let done = 0;
    while (done < info.byteLength) {
      const { bytesRead } = await this.handle.read(bytes, done, info.byteLength - done, info.fileOffset + done);
      if (bytesRead === 0) throw new ModelError(`${this.path}: file ends inside tensor ${info.name}`);
      done += bytesRead;
    }
    return bytes;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readHeader(
  handle: FileHandle,
  fileSize: number,
  path: string,
): Promise<{ tensors: Map<string, TensorInfo>; metadata: Record<string, string> }> {
  const corrupt = (why: string) =>
    new ModelError(`${path} is not a valid safetensors file (${why}); download it again`);
  if (fileSize < 8) throw corrupt('shorter than its 8-byte header length');
  const lenBuf = Buffer.alloc(8);
  await handle.read(lenBuf, 0, 8, 0);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES || headerLen + 8 > fileSize) throw corrupt(`header length ${headerLen}`);
  const headerBuf = Buffer.alloc(headerLen);
  await handle.read(headerBuf, 0, headerLen, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBuf.toString('utf8'));
  } catch {
    throw corrupt('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt('header is not an object');
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    tensors.set(name, parseEntry(name, raw, { dataStart, fileSize, corrupt }));
  }
  return { tensors, metadata };
}

function parseEntry(
  name: string,
  raw: unknown,
  ctx: { dataStart: number; fileSize: number; corrupt: (why: string) => ModelError },
): TensorInfo {
  const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const elementBytes = typeof entry.dtype === 'string' ? ELEMENT_BYTES[entry.dtype] : undefined;
  if (elementBytes === undefined) throw ctx.corrupt(`tensor ${name} has unsupported dtype ${String(entry.dtype)}`);
  const shape = entry.shape;
  const offsets = entry.data_offsets;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw ctx.corrupt(`tensor ${name} has a bad shape`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
    throw ctx.corrupt(`tensor ${name} has bad data_offsets`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * elementBytes;
  if (end - begin !== expected) throw ctx.corrupt(`tensor ${name} holds ${end - begin} bytes, its shape needs ${expected}`);
  if (ctx.dataStart + end > ctx.fileSize) throw ctx.corrupt(`tensor ${name} runs past the end of the file (truncated?)`);
  return {
    name,
    dtype: entry.dtype as string,
    shape: shape as number[],
    fileOffset: ctx.dataStart + begin,
    byteLength: expected,
  };
}
