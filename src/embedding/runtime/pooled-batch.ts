import type { Pooling } from '../pooling.js';
import { poolRow } from '../pooling.js';
import type { EncoderBatch, EncoderSession } from './encoder-session.js';

export interface PooledRequest extends EncoderBatch {
  /** Real (unpadded) length of each row. */
  lengths: Int32Array;
  pooling: Pooling;
  /**
   * Rows marked 1 want every real token's hidden state instead of a pooled vector (TEI's
   * /embed_all); absent when no row does, which keeps the pooled path as it was.
   */
  tokenRows?: Uint8Array;
}

export interface PooledResult {
  /**
   * Row after row: hiddenSize values for a pooled row, lengths[row] × hiddenSize for a token
   * row (row-major [tokens, hidden], padding left out).
   */
  vectors: Float32Array;
  hiddenSize: number;
}

/** Values one row takes in PooledResult.vectors. */
export const rowValues = (req: Pick<PooledRequest, 'lengths' | 'tokenRows'>, row: number, hiddenSize: number) =>
  (req.tokenRows?.[row] ? req.lengths[row]! : 1) * hiddenSize;

/** Runs a padded batch and pools each row; shared by the in-process and worker runners. */
export async function runPooled(session: EncoderSession, req: PooledRequest): Promise<PooledResult> {
  const firstTokenOnly = req.pooling === 'cls' && !req.tokenRows;
  const { hidden, hiddenSize, positions } = await session.run({ ...req, firstTokenOnly });
  let total = 0;
  for (let row = 0; row < req.batch; row++) total += rowValues(req, row, hiddenSize);
  const vectors = new Float32Array(total);
  let offset = 0;
  for (let row = 0; row < req.batch; row++) {
    const length = req.lengths[row]!;
    if (req.tokenRows?.[row]) {
      // Right padding: a row's real tokens are the first `length` positions, contiguous.
      const base = row * positions * hiddenSize;
      vectors.set(hidden.subarray(base, base + length * hiddenSize), offset);
    } else {
      vectors.set(poolRow({ hidden, row, sequence: positions, hiddenSize, length, pooling: req.pooling }), offset);
    }
    offset += rowValues(req, row, hiddenSize);
  }
  return { vectors, hiddenSize };
}
