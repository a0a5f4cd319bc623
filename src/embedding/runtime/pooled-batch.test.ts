import { describe, expect, it } from 'vitest';
import type { EncoderBatch, EncoderSession } from './encoder-session.js';
import { runPooled } from './pooled-batch.js';

/**
 * A session standing in for onnxruntime that records what it was asked and answers like one
 * of our graphs: one position per row when only the first token is wanted, else every one.
 * Each value encodes (row, position, dim) so the pooled output shows which rows were read.
 */
function recordingSession(hiddenSize: number) {
  const asked: EncoderBatch[] = [];
  const session = {
    async run(batch: EncoderBatch) {
      asked.push(batch);
      const positions = batch.firstTokenOnly ? 1 : batch.sequence;
      const hidden = Float32Array.from({ length: batch.batch * positions * hiddenSize }, (_, i) => {
        const row = Math.floor(i / (positions * hiddenSize));
        const position = Math.floor(i / hiddenSize) % positions;
        return row * 100 + position * 10 + (i % hiddenSize);
      });
      return { hidden, hiddenSize, positions };
    },
  } as unknown as EncoderSession;
  return { session, asked };
}

const request = (over: Partial<Parameters<typeof runPooled>[1]> = {}) => ({
  inputIds: new BigInt64Array(6),
  attentionMask: new BigInt64Array(6),
  batch: 2,
  sequence: 3,
  lengths: Int32Array.of(3, 2),
  pooling: 'cls' as const,
  ...over,
});

describe('runPooled asks the graph for the positions it pools', () => {
  it('CLS pooling: the first token only, and each row\'s vector is its own', async () => {
    const { session, asked } = recordingSession(2);
    const { vectors } = await runPooled(session, request());
    expect(asked[0]!.firstTokenOnly).toBe(true);
    expect(Array.from(vectors)).toEqual([0, 1, 100, 101]);
  });

  it('mean pooling: every position, averaged over each row\'s real tokens', async () => {
    const { session, asked } = recordingSession(2);
    const { vectors } = await runPooled(session, request({ pooling: 'mean' }));
    expect(asked[0]!.firstTokenOnly).toBe(false);
    expect(Array.from(vectors)).toEqual([10, 11, 105, 106]);
  });

  it('a token-level row beside a CLS row: every position, CLS still read from position 0', async () => {
    const { session, asked } = recordingSession(2);
    const { vectors } = await runPooled(session, request({ tokenRows: Uint8Array.of(0, 1) }));
    expect(asked[0]!.firstTokenOnly).toBe(false);
    expect(Array.from(vectors)).toEqual([0, 1, 100, 101, 110, 111]);
  });
});
