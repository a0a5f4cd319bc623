import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from './lib/errors.js';

const bool = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])])
  .transform((v) => (typeof v === 'boolean' ? v : ['1', 'true', 'yes', 'on'].includes(v)));
const int = (min: number) => z.coerce.number().int().min(min);

/**
 * Every setting biovec reads, with its default and meaning. Each key maps to the env var
 * BIOVEC_<SCREAMING_SNAKE> and the flag --<kebab-case>, except the hub settings, which keep
 * the names every Hugging Face tool uses (see ENV_NAMES).
 */
export const configSchema = z.object({
  model: z.string().min(1).default('allenai/biomed_roberta_base')
    .describe('Model: a local directory or a Hugging Face id (org/name[@revision]). Default: eos1086 (BioMed-RoBERTa)'),
  modelRevision: z.string().min(1).default('main').describe('Hub revision (branch, tag or commit) when --model is a hub id'),
  servedModelName: z.string().default('')
    .describe('The model name /v1/models lists and /v1/embeddings answers with; empty = the hub id, or a local directory\'s name (never its path)'),
  pooling: z.enum(['auto', 'cls', 'mean']).default('auto')
    .describe('cls = first token of the last hidden state (eos1086); mean = mask-weighted mean; auto = the model\'s sentence-transformers setting, else cls'),
  normalize: z.enum(['auto', 'true', 'false']).default('auto')
    .describe('L2-normalise vectors; auto = the model\'s sentence-transformers setting, else no (eos1086 vectors are raw)'),
  maxLength: int(0).default(0).describe('Max tokens per input, special tokens included; 0 = the model\'s limit (512 for RoBERTa; a sentence-transformers max_seq_length where the model states one)'),
  queryPrefix: z.string().min(1).default('auto')
    .describe('Text put before search queries (bge: "Represent this sentence for searching relevant passages: "); auto = the model\'s own prompt (sentence-transformers prompts or a known model\'s card), none = no prefix'),
  documentPrefix: z.string().min(1).default('auto')
    .describe('Text put before every document chunk (e5: "passage: "); auto = the model\'s own prompt, none = no prefix'),
  weights: z.enum(['auto', 'safetensors', 'onnx']).default('auto')
    .describe('Which weights to load: auto prefers model.safetensors (converted to ONNX) over a shipped model.onnx, and that over pytorch_model.bin; safetensors = always convert the checkpoint (model.safetensors or pytorch_model.bin, single or sharded)'),
  quantize: z.enum(['auto', 'none', 'int8']).default('auto')
    .describe('Weights of model.safetensors conversions: int8 = onnxruntime integer MatMul kernels (faster on CPU; vectors within cosine ~0.99 of fp32), none = fp32; auto = none (int8 is opt-in: it changes the vectors, and each collection is bound to one precision)'),
  device: z.enum(['cpu', 'cuda']).default('cpu').describe('onnxruntime execution provider'),
  threads: int(0).default(availableParallelism()).describe('onnxruntime intra-op threads (0 = onnxruntime decides)'),
  inference: z.enum(['worker', 'inline']).default('worker')
    .describe('Run inference on a worker thread (keeps the event loop free) or inline'),
  maxBatchTokens: int(0).default(0)
    .describe('Padded tokens per inference batch (longest × rows); 0 = auto: 512 on CPU, where larger batches outgrow the caches, 16384 on CUDA'),
  maxBatchSize: int(1).default(64).describe('Rows per inference batch'),
  maxQueuedTokens: int(1).default(2_000_000).describe('Tokens waiting for inference before requests are refused (429)'),
  maxQueueWaitMs: int(1).default(30_000)
    .describe('A request that would wait longer than this for inference (estimated from the measured tokens/s) is refused with 429 and Retry-After; 30 s is under common client and proxy timeouts'),
  cacheDir: z.string().min(1).default(join(homedir(), '.cache', 'biovec')).describe('Converted ONNX graphs and other derived files'),
  hfEndpoint: z.string().url().default('https://huggingface.co').describe('Hugging Face hub or mirror base URL'),
  hfToken: z.string().optional().describe('Hugging Face token for gated or private models (secret)'),
  hfHubOffline: bool.default(false).describe('Never contact the hub; use the local cache only'),
  hfHubCache: z.string().min(1).default(join(homedir(), '.cache', 'huggingface', 'hub'))
    .describe('Hugging Face cache directory (shared with Python tools)'),
  hubTimeoutMs: int(1).default(30_000).describe('Hub request timeout (headers, and idle time while downloading)'),
  dataDir: z.string().min(1).default(join(homedir(), '.local', 'share', 'biovec'))
    .describe('Where the embedded defaults keep their data: PGlite catalog (catalog/) and embedded vector index (index/)'),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()
    .describe('Postgres catalog (postgres://user:pass@host/db); unset = PGlite under the data dir (secret: may hold a password)'),
  qdrantUrl: z.string().url().optional().describe('Qdrant base URL (http://host:6333); unset = the embedded index under the data dir'),
  qdrantApiKey: z.string().optional().describe('Qdrant API key (secret)'),
  qdrantTimeoutMs: int(1).default(10_000).describe('Qdrant request timeout'),
  qdrantShardNumber: int(0).default(0).describe('Shards per new Qdrant collection in distributed mode (0 = Qdrant\'s default)'),
  qdrantReplicationFactor: int(0).default(0).describe('Copies of each shard in distributed mode (0 = Qdrant\'s default)'),
  qdrantWriteConsistency: int(0).default(0).describe('Replicas that must acknowledge a write (0 = Qdrant\'s default)'),
  lexicalK1: z.coerce.number().min(0).max(10).default(0.9)
    .describe('BM25 k1 of lexical and hybrid search: how fast repeated terms saturate (Anserini\'s BEIR setting, best on SciFact); Qdrant bakes it into points as they are written'),
  lexicalB: z.coerce.number().min(0).max(1).default(0.4)
    .describe('BM25 b: how much chunk length normalises scores (0 = not at all); Qdrant bakes it into points as they are written'),
  lexicalAvgDocLength: z.coerce.number().positive().default(170)
    .describe('Qdrant only: the average chunk length in tokens BM25 normalises against (the embedded index uses the live average); SciFact\'s is about 170'),
  outboxMaxBackoffMs: int(1).default(30_000)
    .describe('Longest wait before the outbox worker retries a change the vector index failed to take; once the index answers again, waiting changes are retried at once'),
  uploadsDir: z.string().default('')
    .describe('Where import uploads are kept until their job ends, when no S3 bucket is set: a directory every process of the deployment reaches (a shared volume for several replicas); empty = uploads/ under the data dir'),
  uploadsS3Bucket: z.string().default('').describe('Keep import uploads in this S3 (or S3-compatible) bucket instead of a directory; empty = a directory (--uploads-dir)'),
  uploadsS3Prefix: z.string().default('uploads/').describe('Key prefix of uploads in the S3 bucket'),
  uploadsS3Endpoint: z.union([z.literal(''), z.string().url()]).default('').describe('S3-compatible server (MinIO, Ceph, R2: http://minio:9000); empty = AWS S3'),
  uploadsS3Region: z.string().min(1).default('us-east-1').describe('S3 region (S3-compatible servers accept the default)'),
  uploadsS3AccessKeyId: z.string().default('').describe('S3 access key id; empty = the AWS SDK\'s default chain (AWS_ACCESS_KEY_ID, instance roles)'),
  uploadsS3SecretAccessKey: z.string().default('').describe('S3 secret access key (secret)'),
  uploadsS3PathStyle: bool.default(true).describe('Address the bucket in the path (http://host/bucket/key), as MinIO and most S3-compatible servers need; false = virtual-hosted style'),
  jobLeaseMs: int(1000).default(30_000)
    .describe('A job or batch lease not renewed for this long (its process died) is taken over by another process; heartbeats renew it every third of that'),
  applyOutbox: bool.default(true)
    .describe('false: this process leaves the outbox to `biovec worker` processes or another replica'),
  embedBatches: int(0).default(2)
    .describe('Import and re-index batches this process embeds at once (server and `biovec worker --embed`): 2 keeps the model busy while one batch is written; 0 on a server = none: leave them to embedding workers'),
  maxPendingBatches: int(1).default(8)
    .describe('Batches a job may have waiting to be embedded before its planner stops reading the upload (backpressure)'),
  host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP server binds (0.0.0.0 to serve other machines)'),
  port: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port'),
  corsAllowOrigin: z.string().trim().default('')
    .refine((v) => v === '' || v === '*' || v.split(',').every((o) => /^https?:\/\/[^/\s]+$/.test(o.trim())), 'must be *, or origins like https://app.example.org separated by commas')
    .describe('Origins a browser app may call the API from: * or a comma-separated list (https://app.example.org); empty = no CORS headers (same-origin only)'),
  maxBodyBytes: int(1).default(16 * 1024 * 1024).describe('Largest request body accepted by JSON endpoints (bigger: 413; use /imports for files)'),
  maxUploadBytes: int(1).default(20 * 1024 * 1024 * 1024).describe('Largest import upload (streamed to disk, never held in memory)'),
  maxRecordBytes: int(1024).default(4 * 1024 * 1024).describe('Largest record an import reads (an NDJSON line, a CSV record, a PubMed article or XML text node); longer: an error record, or the job fails where the format cannot resume'),
  shutdownTimeoutMs: int(1).default(20_000).describe('SIGTERM/SIGINT: the deadline for the whole shutdown (in-flight requests, imports, worker, stores)'),
  maxDocumentsPerRequest: int(1).default(1000).describe('Documents per POST …/documents request'),
  defaultCollection: z.string().min(1).default('default').describe('Collection created at first start with the loaded model'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level (JSON logs; the server writes them to stdout, CLI commands to stderr)'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigKey = keyof Config;

const SECRET: ReadonlySet<ConfigKey> = new Set(['hfToken', 'databaseUrl', 'qdrantApiKey', 'uploadsS3SecretAccessKey']);

// Hugging Face, Postgres and Qdrant settings keep the names their own tools use.
const UNPREFIXED: ReadonlySet<string> = new Set(['hfEndpoint', 'hfToken', 'hfHubOffline', 'hfHubCache', 'databaseUrl', 'qdrantUrl', 'qdrantApiKey']);

/** Env var names. Hub, database and Qdrant settings use their tools' names so existing setups carry over. */
export const ENV_NAMES: Record<ConfigKey, string> = Object.fromEntries(
  (Object.keys(configSchema.shape) as ConfigKey[]).map((key) => [
    key,
    UNPREFIXED.has(key) ? snake(key) : `BIOVEC_${snake(key)}`,
  ]),
) as Record<ConfigKey, string>;

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

export function flagName(key: ConfigKey): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Resolves the configuration once: flags beat env vars beat defaults. HF_HOME is honoured
 * as huggingface_hub does (HF_HUB_CACHE defaults to $HF_HOME/hub). Throws InvalidInputError
 * naming each bad setting by its env var and flag.
 */
export function loadConfig(env: Record<string, string | undefined>, flags: Partial<Record<ConfigKey, unknown>> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape) as ConfigKey[]) {
    const fromEnv = env[ENV_NAMES[key]];
    if (fromEnv !== undefined && fromEnv !== '') raw[key] = fromEnv;
    if (flags[key] !== undefined) raw[key] = flags[key];
  }
  if (raw.hfHubCache === undefined && env.HF_HOME) raw.hfHubCache = join(env.HF_HOME, 'hub');
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]) as ConfigKey;
      return { pointer: `/${key}`, detail: `${ENV_NAMES[key] ?? key} / ${flagName(key)}: ${issue.message}` };
    });
    throw new InvalidInputError(`invalid configuration: ${issues.map((i) => i.detail).join('; ')}`, issues);
  }
  return parsed.data;
}

/** The effective configuration with secrets redacted, for the startup log line and `--help`. */
export function redactConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      if (key === 'databaseUrl' && typeof value === 'string') return [key, value.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:[redacted]@')];
      return [key, SECRET.has(key as ConfigKey) && value ? '[redacted]' : value];
    }),
  );
}
