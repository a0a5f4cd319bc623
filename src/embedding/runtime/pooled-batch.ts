import type { Pooling } from '../pooling.js';
import { poolRow } from '../pooling.js';
import type { EncoderBatch, EncoderSession } from './encoder-session.js';

export interface PooledRequest extends EncoderBatch {
  /** Real (unpadded) length of each row. */
  lengths: Int32Array;
  pooling: Pooling;
}

export interface PooledResult {
  /** Row-major [batch, hiddenSize]. */
  vectors: Float32Array;
  hiddenSize: number;
}

/** Runs a padded batch and pools each row; shared by the in-process and worker runners. */
export async function runPooled(session: EncoderSession, req: PooledRequest): Promise<PooledResult> {
  const { hidden, hiddenSize } = await session.run(req);
  const vectors = new Float32Array(req.batch * hiddenSize);
  for (let row = 0; row < req.batch; row++) {
    const pooled = poolRow({ hidden, row, sequence: req.sequence, hiddenSize, length: req.lengths[row]!, pooling: req.pooling });
    vectors.set(pooled, row * hiddenSize);
  }
  return { vectors, hiddenSize };
}
