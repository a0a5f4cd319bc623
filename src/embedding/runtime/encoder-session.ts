import * as ort from 'onnxruntime-node';
import { ModelError } from '../../lib/errors.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  /** Intra-op threads; 0 lets onnxruntime use one per physical core. */
  threads: number;
  executionProvider: ExecutionProvider;
  /**
   * Let idle intra-op threads spin between operators (onnxruntime's default). Off unless set:
   * those threads share the cores with the event loop (tokenizing, catalog writes) and with
   * other processes, and spinning takes CPU time from them for a wake-up latency that is
   * microseconds against GEMMs of milliseconds.
   */
  spinWait?: boolean;
}

/** A padded batch: row-major [batch, sequence] ids and mask. */
export interface EncoderBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  batch: number;
  sequence: number;
  /**
   * Only the first token's hidden state is wanted (CLS pooling). A graph of ours then skips
   * most of its last layer; any other graph computes every position as before.
   */
  firstTokenOnly?: boolean;
}

export interface EncoderOutput {
  /** last_hidden_state, row-major [batch, positions, hidden]. */
  hidden: Float32Array;
  hiddenSize: number;
  /** Positions per row in `hidden`: 1 when firstTokenOnly was honoured, else the sequence length. */
  positions: number;
}

/**
 * One onnxruntime session over an encoder graph: ours (converted from safetensors, with an
 * `output_positions` input) or a third-party export (`input_ids`, `attention_mask`, optionally
 * `token_type_ids` in; `last_hidden_state` or a rank-3 first output out).
 */
export class EncoderSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly outputName: string,
    private readonly needsTokenTypes: boolean,
    private readonly takesPositions: boolean,
  ) {}

  /** Throws ModelError when the file is not a loadable encoder graph. */
  static async create(onnxPath: string, opts: SessionOptions): Promise<EncoderSession> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(onnxPath, {
        executionProviders: opts.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: opts.threads,
        // Batches come with varying shapes; the arena would keep the largest one's memory forever.
        enableCpuMemArena: false,
        extra: { session: { intra_op: { allow_spinning: opts.spinWait ? '1' : '0' } } },
      });
    } catch (err) {
      throw new ModelError(`onnxruntime could not load ${onnxPath}: ${(err as Error).message}`, { cause: err });
    }
    for (const required of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(required)) {
        throw new ModelError(`${onnxPath} has no ${required} input (inputs: ${session.inputNames.join(', ')})`);
      }
    }
    const outputName = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0];
    if (!outputName) throw new ModelError(`${onnxPath} has no outputs`);
    return new EncoderSession(session, outputName, session.inputNames.includes('token_type_ids'), session.inputNames.includes('output_positions'));
  }

  async run(batch: EncoderBatch): Promise<EncoderOutput> {
    const dims = [batch.batch, batch.sequence];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.inputIds, dims),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
    };
    if (this.needsTokenTypes) {
      feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch.inputIds.length), dims);
    }
    if (this.takesPositions) {
      const positions = batch.firstTokenOnly ? BigInt64Array.of(0n) : BigInt64Array.from({ length: batch.sequence }, (_, t) => BigInt(t));
      feeds.output_positions = new ort.Tensor('int64', positions, [positions.length]);
    }
    const result = await this.session.run(feeds, [this.outputName]);
    const out = result[this.outputName];
    if (!out || out.dims.length !== 3 || out.type !== 'float32') {
      throw new ModelError(`output ${this.outputName} is not a float [batch, sequence, hidden] tensor`);
    }
    return { hidden: out.data as Float32Array, hiddenSize: Number(out.dims[2]), positions: Number(out.dims[1]) };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
