import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.js';
import { validateDocuments } from '../ingest-documents.js';
import { parseNdjson } from './ndjson.js';
import { collect, collectUntilError, sharedData, streamOf } from './testing.js';

describe('parseNdjson', () => {
  it('maps id, title, text and labels, copies other fields to metadata, and numbers records by line', async () => {
    const input = [
      '{"id": 7, "title": "Aspirin", "text": "Aspirin inhibits COX-1.", "labels": ["drug", " ", 3], "year": 2001, "mesh": ["Aspirin"]}',
      '',
      '   ',
      '{"id": "b", "text": "Body only."}',
    ].join('\n');
    expect(await collect(parseNdjson(streamOf(input)))).toEqual([
      {
        record: 1,
        doc: { externalId: '7', title: 'Aspirin', body: 'Aspirin inhibits COX-1.', labels: ['drug', '3'], metadata: { year: 2001, mesh: ['Aspirin'] } },
      },
      { record: 4, doc: { externalId: 'b', title: null, body: 'Body only.', metadata: {} } },
    ]);
  });

  it('reports bad lines as error records and goes on', async () => {
    const input = [
      '{"id": "1", "text": "ok"}',
      '{"id": "2", "text": ',
      '[1, 2]',
      'null',
      '"just a string"',
      '{"text": "no id"}',
      '{"id": "3"}',
      '{"id": " ", "text": "blank id"}',
      '{"id": {"x": 1}, "text": "object id"}',
      '{"id": "4", "text": "", "title": ""}',
      '{"id": "5", "text": "x", "labels": {"a": 1}}',
      '{"id": "6", "text": "bad \\ud800 surrogate"}',
      `{"id": "${'x'.repeat(513)}", "text": "long id"}`,
      '{"id": "7", "text": "still parsed"}',
    ].join('\n');
    const records = await collect(parseNdjson(streamOf(input)));
    expect(records.map((r) => [r.record, r.doc?.externalId ?? r.error?.split(':')[0]])).toEqual([
      [1, '1'],
      [2, 'invalid JSON'],
      [3, 'expected a JSON object, got an array'],
      [4, 'expected a JSON object, got null'],
      [5, 'expected a JSON object, got string'],
      [6, 'missing id (field "id" or "_id")'],
      [7, 'missing text (field "text" or "abstract" or "body")'],
      [8, 'id must be a non-empty string or a number'],
      [9, 'id must be a non-empty string or a number'],
      [10, 'has neither title nor text'],
      [11, '"labels" must be a string or an array of strings'],
      [12, 'id, title or text is not valid Unicode (lone surrogate)'],
      [13, 'id is longer than 512 characters'],
      [14, '7'],
    ]);
  });

  it('takes a record\'s metadata object as the metadata (not metadata.metadata), with the other fields joining it', async () => {
    const input = ['{"id": "m", "text": "x", "metadata": {"year": 2001, "journal": "J"}, "extra": 1, "journal": "top"}', '{"id": "n", "text": "y", "metadata": "not an object"}', '{"id": "e", "text": "z", "metadata": []}', '{"id": "f", "text": "w", "metadata": [1]}'].join('\n');
    const records = await collect(parseNdjson(streamOf(input)));
    expect(records).toEqual([
      { record: 1, doc: { externalId: 'm', title: null, body: 'x', metadata: { extra: 1, journal: 'J', year: 2001 } } },
      { record: 2, error: '"metadata" must be a JSON object' },
      { record: 3, doc: { externalId: 'e', title: null, body: 'z', metadata: {} } },
      { record: 4, error: '"metadata" must be a JSON object' },
    ]);
  });

  it('falls back to _id and abstract by default, but not when the caller names the fields', async () => {
    const input = '{"_id": "s1", "title": "T", "abstract": "A", "body": "B"}\n';
    const [byDefault] = await collect(parseNdjson(streamOf(input)));
    expect(byDefault?.doc).toEqual({ externalId: 's1', title: 'T', body: 'A', metadata: { body: 'B' } });
    const [named] = await collect(parseNdjson(streamOf(input), { id: 'pmid', text: 'text' }));
    expect(named?.error).toBe('missing id (field "pmid")');
  });

  it('follows a custom mapping and keeps only the listed metadata', async () => {
    const input = '{"pmid": 123, "headline": "H", "summary": "S", "tags": "one", "journal": "J", "junk": 1}\n';
    const records = await collect(parseNdjson(streamOf(input), { id: 'pmid', title: 'headline', text: 'summary', labels: 'tags', metadata: ['journal', 'absent'] }));
    expect(records).toEqual([{ record: 1, doc: { externalId: '123', title: 'H', body: 'S', labels: ['one'], metadata: { journal: 'J' } } }]);
  });

  it('handles a BOM, CRLF line ends, multi-byte characters split across chunks, and gzip', async () => {
    const input = '\uFEFF{"id": "a", "text": "β-agonist"}\r\n{"id": "b", "text": "µg"}\r\n';
    const expected = [
      { record: 1, doc: { externalId: 'a', title: null, body: 'β-agonist', metadata: {} } },
      { record: 2, doc: { externalId: 'b', title: null, body: 'µg', metadata: {} } },
    ];
    expect(await collect(parseNdjson(streamOf(input, 3)))).toEqual(expected);
    expect(await collect(parseNdjson(streamOf(gzipSync(input), 1)))).toEqual(expected);
  });

  it('stops with InvalidInputError naming the line when bytes are not UTF-8, after the records before it', async () => {
    const input = Buffer.concat([Buffer.from('{"id": "1", "text": "ok"}\n{"id": "2", "text": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
    const { records, error } = await collectUntilError(parseNdjson(streamOf(input)));
    expect(records).toHaveLength(1);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).detail).toBe('line 2 is not valid UTF-8');
  });

  it('produces only documents that validateDocuments accepts', async () => {
    const input = ['{"id": 1, "text": "a"}', '{"id": "2", "title": "only a title", "text": ""}', '{"_id": "3", "abstract": "b", "labels": "x"}'].join('\n');
    const docs = (await collect(parseNdjson(streamOf(input)))).map((r) => r.doc);
    expect(docs.every((d) => d !== undefined)).toBe(true);
    expect(() => validateDocuments(docs.flatMap((d) => (d ? [d] : [])))).not.toThrow();
  });

  it('makes a line longer than maxRecordBytes an error record, unread, and goes on (a small gzip expanding to a long line)', async () => {
    const long = `{"id": "big", "text": "${'a'.repeat(200_000)}"}`;
    const input = gzipSync(['{"id": "1", "text": "before"}', long, '{"id": "2", "text": "after"}'].join('\n'));
    expect(input.length).toBeLessThan(2000);
    const records = await collect(parseNdjson(streamOf(input, 512), {}, { maxRecordBytes: 10_000 }));
    expect(records.map((r) => [r.record, r.doc?.externalId ?? r.error])).toEqual([
      [1, '1'],
      [2, 'the line is longer than 10000 bytes (BIOVEC_MAX_RECORD_BYTES); skipped unread'],
      [3, '2'],
    ]);
  });

  it('refuses a 256 MB single line from a gzip of a few hundred KB with bounded memory', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const gzip = createGzip();
    const compressed: Buffer[] = [];
    gzip.on('data', (c: Buffer) => compressed.push(c));
    const finished = new Promise((resolve) => gzip.on('end', resolve));
    gzip.write('{"id": "1", "text": "before"}\n{"id": "bomb", "text": "');
    for (let i = 0; i < 256; i += 1) if (!gzip.write(chunk)) await new Promise((resolve) => gzip.once('drain', resolve));
    gzip.end('"}\n{"id": "2", "text": "after"}\n');
    await finished;
    const bomb = Buffer.concat(compressed);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const baseline = used();
    let peak = baseline;
    async function* sampled(): AsyncGenerator<Uint8Array> {
      for await (const piece of streamOf(bomb, 16 * 1024)) {
        peak = Math.max(peak, used());
        yield piece;
      }
    }
    const records = await collect(parseNdjson(sampled()));
    expect(records.map((r) => [r.record, r.doc?.externalId ?? r.error])).toEqual([
      [1, '1'],
      [2, expect.stringMatching(/^the line is longer than 4194304 bytes/)],
      [3, '2'],
    ]);
    expect((peak - baseline) / 2 ** 20).toBeLessThan(64);
  });

  it('parses 200k generated records with heap growth under 50 MB', async () => {
    const total = 200_000;
    async function* generate(): AsyncGenerator<Uint8Array> {
      for (let start = 0; start < total; start += 1000) {
        let lines = '';
        for (let i = start; i < start + 1000; i += 1) lines += `{"id": ${i}, "title": "Record ${i}", "text": "${'lorem ipsum dolor '.repeat(12)}${i}", "labels": ["a", "b"], "year": 2020}\n`;
        yield Buffer.from(lines);
      }
    }
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let count = 0;
    for await (const record of parseNdjson(generate())) {
      if (record.doc) count += 1;
      if (count % 5000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    expect(count).toBe(total);
    expect((peak - baseline) / 2 ** 20).toBeLessThan(50);
  });
});

const scifact = join(sharedData, 'scifact', 'corpus.jsonl.gz');

describe.skipIf(!existsSync(scifact))('parseNdjson on SciFact (skipped: shared data ../shared/data is absent)', () => {
  it('reads all 5,183 gzipped BEIR abstracts through the _id fallback', async () => {
    const records = await collect(parseNdjson(createReadStream(scifact)));
    expect(records.filter((r) => r.error)).toEqual([]);
    expect(records).toHaveLength(5183);
    expect(records[0]?.doc?.externalId).toMatch(/^\d+$/);
    expect(records[0]?.doc?.title).toBeTruthy();
  });
});
