import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import type { Embedder } from '../embedding/embedder.js';
import { InvalidInputError } from '../lib/errors.js';
import { formatFloat32 } from '../lib/float-format.js';
import { createProgress } from './progress.js';

export interface RunCommandOptions {
  embedder: Embedder;
  input: string;
  output: string;
  /** Input column holding the text; Ersilia's is `input`. */
  column: string;
  truncate: boolean;
}

/** Ersilia's row key: the MD5 of the input string, stable across runs and machines. */
export function ersiliaKey(input: string): string {
  return createHash('md5').update(input, 'utf8').digest('hex');
}

/**
 * `biovec run -i in.csv -o out.csv`: the Ersilia Model Hub interface of eos1086. Reads a CSV
 * with an `input` column (a single-column file works whatever its header) and writes
 * `key,input,dim_000..dim_767`, one row per input, in input order.
 */
export async function runErsiliaCsv(opts: RunCommandOptions): Promise<{ rows: number }> {
  const size = (await stat(opts.input)).size;
  const progress = createProgress('embedding', { unit: 'bytes' });
  progress.setTotal(size);
  const fileStream = createReadStream(opts.input);
  const parser = fileStream.pipe(parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: false }));
  const dims = opts.embedder.info.dims;
  const width = Math.max(3, String(dims - 1).length);
  const header = ['key', 'input', ...Array.from({ length: dims }, (_, i) => `dim_${String(i).padStart(width, '0')}`)];
  const out = stringify({ header: true, columns: header });
  const file = createWriteStream(opts.output);
  out.pipe(file);

  let rows = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const texts = batch;
    batch = [];
    const embeddings = await opts.embedder.embed(texts, { priority: 'bulk', truncate: opts.truncate }).catch((err: unknown) => {
      if (err instanceof InvalidInputError) {
        const first = err.issues[0];
        const row = first ? rows + Number(first.pointer.split('/')[1]) + 1 : rows + 1;
        throw new InvalidInputError(`row ${row} of ${opts.input}: ${first?.detail ?? err.detail}`, err.issues);
      }
      throw err;
    });
    for (let i = 0; i < texts.length; i++) {
      const vector = Array.from(embeddings[i]!.vector, formatFloat32);
      if (!out.write([ersiliaKey(texts[i]!), texts[i]!, ...vector])) await once(out, 'drain');
    }
    rows += texts.length;
    progress.update(fileStream.bytesRead);
  };

  for await (const record of parser as AsyncIterable<Record<string, string>>) {
    const names = Object.keys(record);
    const text = record[opts.column] ?? (names.length === 1 ? record[names[0]!] : undefined);
    if (text === undefined) {
      throw new InvalidInputError(`${opts.input} has no "${opts.column}" column (columns: ${names.join(', ')}); pass --column`);
    }
    batch.push(text);
    if (batch.length >= 256) await flush();
  }
  await flush();
  out.end();
  await once(file, 'finish');
  progress.stop();
  return { rows };
}
