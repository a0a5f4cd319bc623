import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

/** A stderr stand-in that is not a terminal, as under CI, systemd or a pipe. */
function pipeStream(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let text = '';
  (stream as unknown as PassThrough).on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('createProgress off a terminal', () => {
  it('prints periodic lines with records and bytes, then a closing line', async () => {
    const { stream, text } = pipeStream();
    const progress = createProgress('ingesting into default', { unit: 'bytes', countLabel: 'records', stream, lineIntervalMs: 0 });
    progress.setTotal(2048);
    progress.update(1024, { count: 10 });
    progress.update(2048, { count: 20 });
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    const lines = text().trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['biovec: ingesting into default: 10 records, 1.0 KB of 2.0 KB (50%)', 'biovec: ingesting into default: 20 records, 2.0 KB of 2.0 KB (100%)']);
    expect(lines[2]).toMatch(/^biovec: ingesting into default: done, 20 records, 2\.0 KB of 2\.0 KB \(100%\) in [\d.]+ s$/);
  });

  it('stays silent for work shorter than the interval, unless asked to announce its end', async () => {
    const quiet = pipeStream();
    const progress = createProgress('embedding', { unit: 'bytes', stream: quiet.stream, lineIntervalMs: 60_000 });
    progress.update(10);
    progress.stop();
    const announced = pipeStream();
    const download = createProgress('downloading vocab.json', { unit: 'bytes', stream: announced.stream, lineIntervalMs: 60_000, shouldAnnounceEnd: true });
    download.setTotal(10);
    download.update(10);
    download.stop();
    download.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(quiet.text()).toBe('');
    expect(announced.text()).toMatch(/^biovec: downloading vocab\.json: done, 10 B of 10 B \(100%\) in [\d.]+ s\n$/);
  });
});
