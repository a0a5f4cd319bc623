import { InvalidInputError } from './errors.js';

export interface Line {
  /** 1-based line number in the input. */
  number: number;
  text: string;
  /** Bytes of input consumed up to and including this line, for progress. */
  bytesRead: number;
}

/**
 * Splits a byte stream into lines and decodes each as strict UTF-8, so invalid bytes stop
 * the run with the line number instead of turning silently into U+FFFD. Strips a leading
 * BOM and a trailing CR (Windows files). Memory holds one line at a time.
 */
export async function* readLines(stream: AsyncIterable<Uint8Array | string>): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let pending: Buffer[] = [];
  let number = 0;
  let bytesRead = 0;
  const emit = (parts: Buffer[]): Line => {
    number += 1;
    const bytes = Buffer.concat(parts);
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
  for await (const chunk of stream) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let newline = buf.indexOf(0x0a);
    while (newline !== -1) {
      pending.push(buf.subarray(0, newline));
      const line = emit(pending);
      bytesRead += 1; // the newline itself
      line.bytesRead = bytesRead;
      yield line;
      pending = [];
      buf = buf.subarray(newline + 1);
      newline = buf.indexOf(0x0a);
    }
    if (buf.length > 0) pending.push(Buffer.from(buf));
  }
  if (pending.length > 0 && pending.some((p) => p.length > 0)) yield emit(pending);
}
