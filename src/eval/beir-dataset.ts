import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipIfCompressed } from '../ingest/parsers/gunzip-if-compressed.js';
import { InvalidInputError } from '../lib/errors.js';
import { readLines } from '../lib/read-lines.js';
import type { Judgements } from './retrieval-metrics.js';

/** The files of a BEIR-format dataset (https://github.com/beir-cellar/beir#beers-available-datasets). */
export interface BeirFiles {
  corpus: string;
  queries: string;
  qrels: string;
}

const exists = (path: string) => access(path).then(() => true, () => false);

async function firstPresent(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) if (await exists(join(dir, name))) return join(dir, name);
  return undefined;
}

/** Finds corpus.jsonl[.gz], queries.jsonl[.gz] and qrels/<split>.tsv. Throws InvalidInputError naming what is missing. */
export async function locateBeirDataset(dir: string, split: string): Promise<BeirFiles> {
  const corpus = await firstPresent(dir, ['corpus.jsonl', 'corpus.jsonl.gz']);
  const queries = await firstPresent(dir, ['queries.jsonl', 'queries.jsonl.gz']);
  const qrels = await firstPresent(dir, [`qrels/${split}.tsv`]);
  const missing = [!corpus && 'corpus.jsonl[.gz]', !queries && 'queries.jsonl[.gz]', !qrels && `qrels/${split}.tsv`].filter(Boolean);
  if (!corpus || !queries || !qrels) {
    throw new InvalidInputError(`${dir} is not a BEIR dataset: no ${missing.join(', ')}`, [{ pointer: '/dataset', detail: `missing ${missing.join(', ')}` }]);
  }
  return { corpus, queries, qrels };
}

/** Query id → text, from BEIR queries.jsonl (`_id`, `text`). Throws InvalidInputError with the line. */
export async function readQueries(path: string): Promise<Map<string, string>> {
  const queries = new Map<string, string>();
  for await (const line of readLines(gunzipIfCompressed(createReadStream(path)))) {
    if (line.text.trim() === '') continue;
    let row: { _id?: unknown; text?: unknown };
    try {
      row = JSON.parse(line.text) as typeof row;
    } catch {
      throw new InvalidInputError(`${path} line ${line.number} is not JSON`);
    }
    if ((typeof row._id !== 'string' && typeof row._id !== 'number') || typeof row.text !== 'string') {
      throw new InvalidInputError(`${path} line ${line.number} needs "_id" and "text"`);
    }
    queries.set(String(row._id), row.text);
  }
  return queries;
}

/**
 * Query id → judged documents, from BEIR's `query-id corpus-id score` TSV (header optional)
 * or TREC's four-column `qid iter docno rel`. Throws InvalidInputError with the line.
 */
export async function readQrels(path: string): Promise<Map<string, Judgements>> {
  const qrels = new Map<string, Judgements>();
  for await (const line of readLines(createReadStream(path))) {
    const cols = line.text.trim().split(/\s+/);
    if (cols.length === 1 && cols[0] === '') continue;
    const [qid, docId, grade] = cols.length === 4 ? [cols[0], cols[2], cols[3]] : cols;
    if ((cols.length !== 3 && cols.length !== 4) || qid === undefined || docId === undefined || grade === undefined) {
      throw new InvalidInputError(`${path} line ${line.number}: expected query-id, corpus-id and score`);
    }
    const score = Number(grade);
    if (!Number.isFinite(score)) {
      if (line.number === 1) continue; // BEIR's header row
      throw new InvalidInputError(`${path} line ${line.number}: score ${JSON.stringify(grade)} is not a number`);
    }
    let judged = qrels.get(qid);
    if (!judged) qrels.set(qid, (judged = new Map()));
    judged.set(docId, score);
  }
  return qrels;
}
