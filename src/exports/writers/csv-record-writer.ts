import { pipeline } from 'node:stream/promises';
import { stringify, type Stringifier } from 'csv-stringify';
import { waitForDrain } from './sink-writer.js';

/**
 * Streams CSV records through csv-stringify (RFC 4180 quoting, `\n` line ends) into a sink.
 * The stringifier's own buffer is the backpressure point: pipe pauses it while the sink is
 * full, so `write()` waits on its 'drain' and memory stays at a few records.
 */
export class CsvRecordWriter {
  private readonly stringifier: Stringifier;
  private readonly done: Promise<void>;
  private failure: unknown;
  private hasFailed = false;

  constructor(sink: NodeJS.WritableStream) {
    this.stringifier = stringify({ record_delimiter: 'unix' });
    // pipeline forwards errors both ways and ends the sink after the stringifier ends.
    this.done = pipeline(this.stringifier, sink);
    this.done.catch((err: unknown) => {
      this.hasFailed = true;
      this.failure = err;
    });
  }

  /** Writes one record; resolves once the stringifier can take another. */
  async write(fields: string[]): Promise<void> {
    this.throwIfFailed();
    if (!this.stringifier.write(fields)) await waitForDrain(this.stringifier).catch(() => this.done);
    this.throwIfFailed();
  }

  /** Ends the stringifier and resolves once the sink has finished. */
  async end(): Promise<void> {
    this.throwIfFailed();
    this.stringifier.end();
    await this.done;
  }

  private throwIfFailed(): void {
    if (this.hasFailed) throw this.failure;
  }
}
