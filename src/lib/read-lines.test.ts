import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.js';
import { formatFloat32 } from './float-format.js';
import { readLines } from './read-lines.js';

const collect = async (chunks: (string | Uint8Array)[]) => {
  const out: string[] = [];
  for await (const line of readLines(Readable.from(chunks))) out.push(line.text);
  return out;
};

describe('readLines', () => {
  it('splits on newlines across chunk borders, strips BOM and CR, keeps a last unterminated line', async () => {
    expect(await collect(['\ufeffal', 'pha\r\nbe', 'ta\n\ngamma'])).toEqual(['alpha', 'beta', '', 'gamma']);
  });

  it('keeps multi-byte characters split across chunks', async () => {
    const bytes = Buffer.from('µ-opioid ± 5 µg\n');
    expect(await collect([bytes.subarray(0, 1), bytes.subarray(1, 12), bytes.subarray(12)])).toEqual(['µ-opioid ± 5 µg']);
  });

  it('names the line with invalid UTF-8', async () => {
    const err = await collect([Buffer.from('ok\nalso ok\n'), Buffer.from([0x66, 0xff, 0x0a])]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).detail).toBe('line 3 is not valid UTF-8');
  });
});

describe('formatFloat32', () => {
  it('prints the shortest decimal that reads back as the same float32', () => {
    for (const v of [0.1, -1.4789535999298096, 1e-8, 123456.789, 0, -0.5, 3.4e38]) {
      const text = formatFloat32(v);
      expect(Math.fround(Number(text))).toBe(Math.fround(v));
      expect(text.replace(/^-|e.*$/g, '').replace('.', '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
    }
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
  });
});
