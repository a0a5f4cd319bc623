import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModel } from '../../../test/helpers/fixtures.js';
import { ModelError } from '../../lib/errors.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './half-float.js';
import { SafetensorsFile } from './safetensors.js';

function safetensors(header: Record<string, unknown>, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

describe('SafetensorsFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'biovec-st-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };

  it('reads F32, F16 and BF16 tensors as fp32', async () => {
    const f32 = Buffer.from(new Float32Array([1.5, -2, 0.25]).buffer);
    const f16 = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x7c00]).buffer); // 1, -2, ~0.3333, +inf
    const bf16 = Buffer.from(new Uint16Array([0x3fc0, 0xbf80]).buffer); // 1.5, -1
    const path = await write('mixed.safetensors', safetensors({
      a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
      b: { dtype: 'F16', shape: [2, 2], data_offsets: [12, 20] },
      c: { dtype: 'BF16', shape: [2], data_offsets: [20, 24] },
      __metadata__: { format: 'pt' },
    }, Buffer.concat([f32, f16, bf16])));
    const file = await SafetensorsFile.open(path);
    expect(Array.from(await file.readFloat32('a'))).toEqual([1.5, -2, 0.25]);
    const half = await file.readFloat32('b');
    expect(Array.from(half.slice(0, 2))).toEqual([1, -2]);
    expect(half[2]).toBeCloseTo(1 / 3, 3);
    expect(half[3]).toBe(Infinity);
    expect(Array.from(await file.readFloat32('c'))).toEqual([1.5, -1]);
    expect(file.metadata).toEqual({ format: 'pt' });
    await file.close();
  });

  it('converts every float16 bit pattern like IEEE 754 (subnormals, zero signs, NaN)', () => {
    expect(Array.from(float16ToFloat32(new Uint16Array([0x0001, 0x8000, 0x7bff, 0x0400])))).toEqual([2 ** -24, -0, 65504, 2 ** -14]);
    expect(Number.isNaN(float16ToFloat32(new Uint16Array([0x7e00]))[0])).toBe(true);
    expect(Array.from(bfloat16ToFloat32(new Uint16Array([0x0000, 0x8000])))).toEqual([0, -0]);
  });

  it('refuses truncated and corrupt files with ModelError', async () => {
    const good = await readFile(join(fixtureModel('tiny-bert'), 'model.safetensors'));
    const cases: [string, Buffer, RegExp][] = [
      ['tiny.safetensors', Buffer.from([1, 2, 3]), /shorter than its 8-byte header/],
      ['truncated.safetensors', good.subarray(0, good.length - 100), /runs past the end of the file/],
      ['huge-header.safetensors', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), Buffer.alloc(16)]), /header length/],
      ['not-json.safetensors', safetensors({}, Buffer.alloc(0)).fill(0x7b, 8), /not JSON/],
      ['bad-dtype.safetensors', safetensors({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /unsupported dtype Q4/],
      ['bad-size.safetensors', safetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }, Buffer.alloc(8)), /holds 8 bytes, its shape needs 16/],
    ];
    for (const [name, bytes, message] of cases) {
      const err = await SafetensorsFile.open(await write(name, bytes)).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(ModelError);
      expect((err as ModelError).detail, name).toMatch(message);
    }
  });

  it('names a missing tensor and a non-float dtype', async () => {
    const path = await write('ints.safetensors', safetensors({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)));
    const file = await SafetensorsFile.open(path);
    await expect(file.readFloat32('nope')).rejects.toThrow(/tensor nope is missing/);
    await expect(file.readFloat32('ids')).rejects.toThrow(/dtype I64, expected a float type/);
    expect(Array.from(await file.readInt64('ids'))).toEqual([0n]);
    await file.close();
  });
});
