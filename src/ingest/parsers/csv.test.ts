import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.js';
import { parseCsv } from './csv.js';
import { collect, collectUntilError, streamOf } from './testing.js';

describe('parseCsv', () => {
  it('maps columns, splits labels, keeps other cells as strings and a four-digit year as a number', async () => {
    const input = ['id,title,text,labels,year,volume,note', '1,Aspirin,Inhibits COX-1.," drug; nsaid ;",2001,042,', '2,,Body only.,,circa 1990,7,x'].join('\n');
    expect(await collect(parseCsv(streamOf(input)))).toEqual([
      { record: 2, doc: { externalId: '1', title: 'Aspirin', body: 'Inhibits COX-1.', labels: ['drug', 'nsaid'], metadata: { year: 2001, volume: '042' } } },
      { record: 3, doc: { externalId: '2', title: null, body: 'Body only.', metadata: { year: 'circa 1990', volume: '7', note: 'x' } } },
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, numbering records by their first line', async () => {
    const input = [
      'id,title,text',
      '1,"Smith, J ""quoted""","line one',
      'line two, with a comma',
      '',
      'line four"',
      '',
      '2,Next,"plain"',
    ].join('\r\n');
    expect(await collect(parseCsv(streamOf(input, 5)))).toEqual([
      { record: 2, doc: { externalId: '1', title: 'Smith, J "quoted"', body: 'line one\nline two, with a comma\n\nline four', metadata: {} } },
      { record: 7, doc: { externalId: '2', title: 'Next', body: 'plain', metadata: {} } },
    ]);
  });

  it('strips a BOM before the header and reads gzip', async () => {
    const input = '\uFEFFid,text\nx,hello\n';
    const expected = [{ record: 2, doc: { externalId: 'x', title: null, body: 'hello', metadata: {} } }];
    expect(await collect(parseCsv(streamOf(input)))).toEqual(expected);
    expect(await collect(parseCsv(streamOf(gzipSync(input), 1)))).toEqual(expected);
  });

  it('splits labels on a custom separator and follows a custom mapping', async () => {
    const input = 'pmid,abstract,tags,journal,extra\n10,A,a|b||c,J,E\n';
    const records = await collect(parseCsv(streamOf(input), { id: 'pmid', text: 'abstract', labels: 'tags', labelSeparator: '|', metadata: ['journal'] }));
    expect(records).toEqual([{ record: 2, doc: { externalId: '10', title: null, body: 'A', labels: ['a', 'b', 'c'], metadata: { journal: 'J' } } }]);
  });

  it('reports bad rows as error records in line order and goes on', async () => {
    const input = ['id,text', '1,ok', '2,too,many', '3', ',no id', '4,', '5,"fine"', '6,"never closed', '7,swallowed'].join('\n');
    const records = await collect(parseCsv(streamOf(input)));
    expect(records.map((r) => [r.record, r.doc?.externalId ?? r.error])).toEqual([
      [2, '1'],
      [3, expect.stringContaining('Invalid Record Length')],
      [4, expect.stringContaining('Invalid Record Length')],
      [5, 'missing id (field "id" or "_id")'],
      [6, 'missing text (field "text" or "abstract" or "body")'],
      [7, '5'],
      [8, expect.stringContaining('Quote Not Closed')],
    ]);
  });

  it('stops with InvalidInputError naming the record when a quote never closes, after the records before it', async () => {
    const input = gzipSync(`id,text\n1,ok\n2,"never closed\n${'more text, no quote\n'.repeat(5000)}3,after\n`);
    const { records, error } = await collectUntilError(parseCsv(streamOf(input, 1000), {}, { maxRecordBytes: 10_000 }));
    expect(records.map((r) => [r.record, r.doc?.externalId ?? r.error?.split(':')[0]])).toEqual([
      [2, '1'],
      [3, 'invalid CSV row'],
    ]);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).detail).toMatch(/^the CSV record starting on line 3 is longer than 10000 characters \(BIOVEC_MAX_RECORD_BYTES\)/);
  });

  it('stops with InvalidInputError naming the line when one line is longer than maxRecordBytes', async () => {
    const input = gzipSync(`id,text\n1,ok\n2,${'x'.repeat(100_000)}\n3,after\n`);
    const { records, error } = await collectUntilError(parseCsv(streamOf(input, 1000), {}, { maxRecordBytes: 10_000 }));
    expect(records.map((r) => r.doc?.externalId)).toEqual(['1']);
    expect((error as InvalidInputError).detail).toBe('line 3 is longer than 10000 bytes (BIOVEC_MAX_RECORD_BYTES); the CSV cannot be read past it');
  });

  it('throws InvalidInputError naming the columns found when the header lacks id or text', async () => {
    const { records, error } = await collectUntilError(parseCsv(streamOf('pmid,title,summary\n1,t,s\n')));
    expect(records).toEqual([]);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).detail).toBe(
      'the CSV header lacks an id column (id or _id) and a text column (text or abstract or body); columns found: pmid, title, summary',
    );
  });

  it('stops with InvalidInputError naming the line when bytes are not UTF-8', async () => {
    const input = Buffer.concat([Buffer.from('id,text\n1,ok\n2,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const { records, error } = await collectUntilError(parseCsv(streamOf(input)));
    expect(records.map((r) => r.record)).toEqual([2]);
    expect((error as InvalidInputError).detail).toBe('line 3 is not valid UTF-8');
  });

  it('passes on an error thrown by the source', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('id,text\n1,a\n');
      throw new Error('connection reset');
    }
    const { records, error } = await collectUntilError(parseCsv(failing()));
    expect(records.map((r) => r.doc?.externalId)).toEqual(['1']);
    expect((error as Error).message).toBe('connection reset');
  });
});
