import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Embedder } from '../embedding/embedder.js';
import { InvalidInputError } from '../lib/errors.js';
import { formatFloat32 } from '../lib/float-format.js';
import { readLines, type Line } from '../lib/read-lines.js';
import { createProgress } from './progress.js';

export interface EmbedCommandOptions {
  embedder: Embedder;
  input: string | undefined;
  output: string | undefined;
  format: 'auto' | 'lines' | 'jsonl';
  textField: string;
  idField: string;
  truncate: boolean;
  /** A model prompt put before every text. */
  prefix?: string;
  /** Texts per embed() call; several calls stay in flight so the batcher can group lengths. */
  groupSize?: number;
}

interface Record_ {
  line: number;
  id: unknown;
  text: string;
}

/**
 * `biovec embed`: lines or JSONL in, one JSON object per input out, in input order:
 * `{"index", "id"?, "embedding": [...], "tokens", "dropped_tokens"}`. Streams: memory holds
 * a few groups, not the file.
 */
export async function runEmbedCommand(opts: EmbedCommandOptions): Promise<{ count: number }> {
  const source = opts.input && opts.input !== '-' ? createReadStream(opts.input) : process.stdin;
  const sink: Writable = opts.output && opts.output !== '-' ? createWriteStream(opts.output) : process.stdout;
  const total = opts.input && opts.input !== '-' ? (await stat(opts.input)).size : 0;
  const progress = createProgress('embedding', { unit: 'bytes' });
  if (total) progress.setTotal(total);
  const groupSize = opts.groupSize ?? 64;
  const inFlight: { records: Record_[]; result: ReturnType<Embedder['embed']> }[] = [];
  let format = opts.format;
  let group: Record_[] = [];
  let index = 0;

  const flushOne = async () => {
    const { records, result } = inFlight.shift()!;
    const embeddings = await result.catch((err: unknown) => {
      throw relocate(err, records);
    });
    for (let i = 0; i < records.length; i++) {
      const e = embeddings[i]!;
      const id = records[i]!.id === undefined ? '' : `"id":${JSON.stringify(records[i]!.id)},`;
      // Shortest float32 decimals: a third of the bytes of JSON.stringify's float64 digits.
      const vector = Array.from(e.vector, formatFloat32).join(',');
      const row = `{"index":${index++},${id}"embedding":[${vector}],"tokens":${e.tokens},"dropped_tokens":${e.droppedTokens}}\n`;
      if (!sink.write(row)) await once(sink, 'drain');
    }
  };
  const submit = async () => {
    if (group.length === 0) return;
    const records = group;
    group = [];
    inFlight.push({ records, result: opts.embedder.embed(records.map((r) => r.text), { priority: 'bulk', truncate: opts.truncate, prefix: opts.prefix }) });
    inFlight[inFlight.length - 1]!.result.catch(() => undefined); // surfaced in order by flushOne
    while (inFlight.length >= 8) await flushOne();
  };

  for await (const line of readLines(source)) {
    if (format === 'auto') format = line.text.trimStart().startsWith('{') ? 'jsonl' : 'lines';
    if (format === 'jsonl' && line.text.trim() === '') continue;
    group.push(parseRecord(line, format, opts));
    if (group.length >= groupSize) await submit();
    progress.update(line.bytesRead);
  }
  await submit();
  while (inFlight.length > 0) await flushOne();
  progress.stop();
  if (sink !== process.stdout) {
    sink.end();
    await once(sink, 'finish');
  }
  return { count: index };
}

function parseRecord(line: Line, format: 'lines' | 'jsonl' | 'auto', opts: EmbedCommandOptions): Record_ {
  if (format !== 'jsonl') return { line: line.number, id: undefined, text: line.text };
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch {
    throw new InvalidInputError(`line ${line.number} is not valid JSON`, [{ pointer: `/lines/${line.number}`, detail: 'invalid JSON' }]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError(`line ${line.number} is not a JSON object`);
  }
  const text = (value as Record<string, unknown>)[opts.textField];
  if (typeof text !== 'string') {
    throw new InvalidInputError(`line ${line.number}: field "${opts.textField}" must be a string`, [
      { pointer: `/lines/${line.number}/${opts.textField}`, detail: 'missing or not a string' },
    ]);
  }
  return { line: line.number, id: (value as Record<string, unknown>)[opts.idField], text };
}

/** embed() names inputs by their index in the call; a CLI user needs the line number. */
function relocate(err: unknown, records: Record_[]): unknown {
  if (!(err instanceof InvalidInputError)) return err;
  const issues = err.issues.map((issue) => {
    const i = Number(issue.pointer.split('/')[1]);
    const line = records[i]?.line;
    return line === undefined ? issue : { pointer: `/lines/${line}`, detail: `line ${line} ${issue.detail}` };
  });
  return new InvalidInputError(issues.map((i) => i.detail).join('; ') || err.detail, issues);
}
