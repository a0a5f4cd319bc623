import { Worker } from 'node:worker_threads';
import { ModelError, UpstreamUnavailableError } from '../../lib/errors.js';
import { EncoderSession, type SessionOptions } from './encoder-session.js';
import { runPooled, type PooledRequest, type PooledResult } from './pooled-batch.js';

/** Where inference runs. Both kinds take the same requests and give the same vectors (pooled, or per token). */
export interface InferenceRunner {
  /** Runs one padded batch. Throws ModelError or UpstreamUnavailableError (worker died). */
  run(req: PooledRequest): Promise<PooledResult>;
  close(): Promise<void>;
}

/** Inference on the calling thread: onnxruntime-node's run() blocks the event loop meanwhile. */
export class InProcessRunner implements InferenceRunner {
  private constructor(private readonly session: EncoderSession) {}

  static async create(onnxPath: string, opts: SessionOptions): Promise<InProcessRunner> {
    return new InProcessRunner(await EncoderSession.create(onnxPath, opts));
  }

  run(req: PooledRequest): Promise<PooledResult> {
    return runPooled(this.session, req);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'result'; id: number; vectors: Float32Array; hiddenSize: number }
  | { kind: 'error'; id: number | null; message: string; isModelError: boolean };

interface Pending {
  resolve: (r: PooledResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Inference on a worker thread, so the event loop keeps serving HTTP, tokenizing and
 * forming the next batch while a batch runs. Buffers are transferred, not copied.
 */
export class WorkerRunner implements InferenceRunner {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: WorkerReply) => this.onMessage(msg));
    worker.on('error', (err) => this.fail(new UpstreamUnavailableError('inference worker crashed', { cause: err })));
    worker.on('exit', (code) => this.fail(new UpstreamUnavailableError(`inference worker exited (code ${code})`)));
  }

  /** Starts the worker and waits until its session is loaded. Throws ModelError on a bad model. */
  static async create(onnxPath: string, opts: SessionOptions): Promise<WorkerRunner> {
    const isSource = import.meta.url.endsWith('.ts');
    const entry = new URL(`./inference-worker.${isSource ? 'ts' : 'js'}`, import.meta.url);
    // Run from TypeScript sources (tsx, vitest), the worker registers tsx's loader first;
    // Node 20 does not pass --import hooks on to worker threads.
    const worker = isSource
      ? new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
          { eval: true, workerData: { onnxPath, opts } },
        )
      : new Worker(entry, { workerData: { onnxPath, opts } });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: WorkerReply) => {
        worker.off('error', onError);
        worker.off('message', onMessage);
        if (msg.kind === 'ready') resolve();
        else if (msg.kind === 'error') reject(msg.isModelError ? new ModelError(msg.message) : new Error(msg.message));
      };
      const onError = (err: Error) => reject(new ModelError(`inference worker failed to start: ${err.message}`, { cause: err }));
      worker.on('message', onMessage);
      worker.once('error', onError);
    }).catch(async (err) => {
      await worker.terminate();
      throw err;
    });
    return new WorkerRunner(worker);
  }

  run(req: PooledRequest): Promise<PooledResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<PooledResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const transfer = [req.inputIds.buffer, req.attentionMask.buffer, req.lengths.buffer];
      if (req.tokenRows) transfer.push(req.tokenRows.buffer);
      this.worker.postMessage({ kind: 'run', id, req }, transfer as ArrayBuffer[]);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new UpstreamUnavailableError('inference runner closed');
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private onMessage(msg: WorkerReply): void {
    if (msg.kind === 'ready') return;
    const id = msg.id ?? -1;
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (msg.kind === 'result') pending.resolve({ vectors: msg.vectors, hiddenSize: msg.hiddenSize });
    else pending.reject(msg.isModelError ? new ModelError(msg.message) : new Error(msg.message));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
