import { InvalidInputError } from './errors.js';

export interface Line {
  /** 1-based line number in the input. */
  number: number;
  /** The decoded line; '' when `isTooLong`. */
  text: string;
  /** Bytes of input consumed up to and including this line, for progress. */
  bytesRead: number;
  /** The line was longer than `maxLineBytes`: its bytes were dropped unread (`onTooLong: 'yield'`). */
  isTooLong?: true;
}

/** Default longest line kept in memory (4 MiB); BIOVEC_MAX_RECORD_BYTES sets it for imports. */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

export interface ReadLinesOptions {
  /** Longest line held in memory, in bytes (the newline excluded, a CR before it included). */
  maxLineBytes?: number;
  /** What a longer line does: stop the run with InvalidInputError (default), or come out as `isTooLong`. */
  onTooLong?: 'throw' | 'yield';
}

/**
 * Splits a byte stream into lines and decodes each as strict UTF-8, so invalid bytes stop
 * the run with the line number instead of turning silently into U+FFFD. Strips a leading
 * BOM and a trailing CR (Windows files). Memory holds one line at a time, at most
 * `maxLineBytes`: the bytes of a longer line are counted and dropped, never gathered (a small
 * gzip can expand to one line of gigabytes; issue 10).
 * @throws InvalidInputError for invalid UTF-8, and for a line over the limit unless `onTooLong: 'yield'`.
 */
export async function* readLines(stream: AsyncIterable<Uint8Array | string>, opts: ReadLinesOptions = {}): AsyncGenerator<Line> {
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let isSkipping = false;
  let number = 0;
  let bytesRead = 0;
  const emit = (): Line => {
    number += 1;
    if (isSkipping) {
      bytesRead += pendingBytes;
      return { number, text: '', bytesRead, isTooLong: true };
    }
    const bytes = Buffer.concat(pending);
    bytesRead += bytes.length;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new InvalidInputError(`line ${number} is not valid UTF-8`, [{ pointer: `/lines/${number}`, detail: 'invalid UTF-8' }]);
    }
    if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { number, text: text.endsWith('\r') ? text.slice(0, -1) : text, bytesRead };
  };
  const keep = (part: Buffer, isUsedAtOnce: boolean) => {
    pendingBytes += part.length;
    if (isSkipping) return;
    if (pendingBytes > maxLineBytes) {
      // Thrown at once: the rest of the line may never end.
      if (opts.onTooLong !== 'yield') {
        const detail = `line ${number + 1} is longer than ${maxLineBytes} bytes`;
        throw new InvalidInputError(detail, [{ pointer: `/lines/${number + 1}`, detail: `longer than ${maxLineBytes} bytes` }]);
      }
      isSkipping = true;
      pending = [];
      return;
    }
    // Bytes kept past this chunk are copied: the source may reuse its buffer.
    if (part.length > 0) pending.push(isUsedAtOnce ? part : Buffer.from(part));
  };
  for await (const chunk of stream) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let newline = buf.indexOf(0x0a);
    while (newline !== -1) {
      keep(buf.subarray(0, newline), true);
      const line = emit();
      bytesRead += 1; // the newline itself
      line.bytesRead = bytesRead;
      pending = [];
      pendingBytes = 0;
      isSkipping = false;
      yield line;
      buf = buf.subarray(newline + 1);
      newline = buf.indexOf(0x0a);
    }
    if (buf.length > 0) keep(buf, false);
  }
  if (pendingBytes > 0) yield emit();
}
