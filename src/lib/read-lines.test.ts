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

describe('readLines with maxLineBytes', () => {
  const lines = async (chunks: (string | Uint8Array)[], opts: Parameters<typeof readLines>[1]) => {
    const out: { number: number; text: string; isTooLong?: true }[] = [];
    for await (const { number, text, isTooLong } of readLines(Readable.from(chunks), opts)) out.push(isTooLong ? { number, text, isTooLong } : { number, text });
    return out;
  };

  it('throws naming the line once a line passes the limit, even before its end arrives', async () => {
    async function* endless(): AsyncGenerator<string> {
      yield 'short\n';
      for (;;) yield 'x'.repeat(1000);
    }
    const err = await (async () => {
      for await (const _ of readLines(endless(), { maxLineBytes: 10_000 })) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).detail).toBe('line 2 is longer than 10000 bytes');
  });

  it("with onTooLong 'yield', reports the long line unread and goes on with the next, counting its bytes", async () => {
    const chunks = ['ok\n', 'a'.repeat(30), 'a'.repeat(30), '\nfine\n', 'b'.repeat(61)];
    expect(await lines(chunks, { maxLineBytes: 50, onTooLong: 'yield' })).toEqual([
      { number: 1, text: 'ok' },
      { number: 2, text: '', isTooLong: true },
      { number: 3, text: 'fine' },
      { number: 4, text: '', isTooLong: true },
    ]);
    const last = await (async () => {
      let bytesRead = 0;
      for await (const line of readLines(Readable.from(chunks), { maxLineBytes: 50, onTooLong: 'yield' })) bytesRead = line.bytesRead;
      return bytesRead;
    })();
    expect(last).toBe(chunks.join('').length);
    expect(await lines(['a'.repeat(50), '\n'], { maxLineBytes: 50 })).toEqual([{ number: 1, text: 'a'.repeat(50) }]);
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
