import { parentPort, workerData } from 'node:worker_threads';
import { ModelError } from '../../lib/errors.js';
import { EncoderSession, type SessionOptions } from './encoder-session.js';
import { runPooled, type PooledRequest } from './pooled-batch.js';

// Worker entry for WorkerRunner: one session, one batch at a time, in message order.
const port = parentPort;
if (!port) throw new Error('bug: inference-worker must run as a worker thread');
const { onnxPath, opts } = workerData as { onnxPath: string; opts: SessionOptions };

const describe = (err: unknown) => ({
  message: err instanceof Error ? err.message : String(err),
  isModelError: err instanceof ModelError,
});

try {
  const session = await EncoderSession.create(onnxPath, opts);
  port.on('message', async (msg: { kind: 'run'; id: number; req: PooledRequest }) => {
    try {
      const { vectors, hiddenSize } = await runPooled(session, msg.req);
      port.postMessage({ kind: 'result', id: msg.id, vectors, hiddenSize }, [vectors.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ kind: 'error', id: msg.id, ...describe(err) });
    }
  });
  port.postMessage({ kind: 'ready' });
} catch (err) {
  port.postMessage({ kind: 'error', id: null, ...describe(err) });
}
