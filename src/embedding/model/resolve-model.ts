import { access, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ModelError, UpstreamUnavailableError } from '../../lib/errors.js';
import { readShardIndex } from '../convert/sharded.js';
import { HfCache } from './hf-cache.js';
import { HubClient, type DownloadProgress } from './hub-client.js';

export interface ModelSpec {
  /** What the user wrote, for messages. */
  raw: string;
  localDir?: string;
  repoId?: string;
  revision: string;
}

export interface ResolvedModel {
  dir: string;
  /** `org/name` for hub models, the directory for local ones. */
  modelId: string;
  /** Commit hash for hub models; undefined for local directories. */
  revision: string | undefined;
}

export interface HubSettings {
  endpoint: string;
  token: string | undefined;
  offline: boolean;
  cacheDir: string;
  timeoutMs: number;
  onProgress?: (p: DownloadProgress) => void;
  onWarning?: (message: string) => void;
}

const REQUIRED = ['config.json'];
const OPTIONAL = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
  // sentence-transformers metadata: how the model's authors pool and normalise.
  'modules.json',
  '1_Pooling/config.json',
];
// In order of preference; pytorch_model.bin (read by a restricted unpickler) comes last,
// after any ONNX export. An `.index.json` brings its shards (see downloadShards).
const WEIGHT_CHOICES = [
  ['model.safetensors'],
  ['model.safetensors.index.json'],
  ['onnx/model.onnx', 'onnx/model.onnx_data'],
  ['model.onnx'],
  ['pytorch_model.bin'],
  ['pytorch_model.bin.index.json'],
];

const exists = (path: string) => access(path).then(() => true, () => false);

/** `org/name`, `org/name@revision`, or a path (anything starting with `.`, `/` or `~`, or existing on disk). */
export async function parseModelSpec(raw: string, revision?: string): Promise<ModelSpec> {
  const value = raw.trim();
  const looksLikePath = /^(\.|\/|~|[A-Za-z]:\\)/.test(value) || isAbsolute(value);
  if (looksLikePath || (await stat(value).then((s) => s.isDirectory(), () => false))) {
    return { raw, localDir: resolve(value.replace(/^~(?=\/|$)/, homedir())), revision: 'local' };
  }
  const match = /^([\w.-]+\/[\w.-]+|[\w.-]+)(?:@([\w./-]+))?$/.exec(value);
  if (!match) {
    throw new ModelError(`"${raw}" is neither a directory nor a Hugging Face model id (org/name[@revision])`);
  }
  return { raw, repoId: match[1]!, revision: revision ?? match[2] ?? 'main' };
}

/** Turns a spec into a local directory, downloading from the hub when needed. Throws ModelError. */
export async function resolveModel(spec: ModelSpec, hub: HubSettings): Promise<ResolvedModel> {
  if (spec.localDir) {
    if (!(await stat(spec.localDir).then((s) => s.isDirectory(), () => false))) {
      throw new ModelError(`model directory ${spec.localDir} does not exist`);
    }
    return { dir: spec.localDir, modelId: spec.localDir, revision: undefined };
  }
  const repoId = spec.repoId!;
  const cache = new HfCache(hub.cacheDir);
  if (hub.offline) return fromCache(cache, repoId, spec.revision, 'HF_HUB_OFFLINE is set');
  try {
    return await download(new HubClient({ ...hub, cache }), cache, repoId, spec.revision);
  } catch (err) {
    if (!(err instanceof UpstreamUnavailableError)) throw err;
    // Without a cached copy the error says why (the hub unreachable, and the network's reason) and what to do next.
    const cached = await fromCache(cache, repoId, spec.revision, err.detail, err);
    hub.onWarning?.(`${err.detail}; using the cached copy of ${repoId}@${cached.revision}`);
    return cached;
  }
}

async function download(client: HubClient, cache: HfCache, repoId: string, revision: string): Promise<ResolvedModel> {
  const config = await client.head(repoId, revision, REQUIRED[0]!);
  if (!config) throw new ModelError(`${repoId} has no config.json at ${revision}: not a transformers model`);
  const commit = config.commit;
  const wanted = [{ file: REQUIRED[0]!, meta: config }];
  for (const file of OPTIONAL) {
    const meta = await client.head(repoId, commit, file);
    if (meta) wanted.push({ file, meta });
    else await cache.markMissing(repoId, commit, file);
  }
  let weights: typeof wanted = [];
  for (const [primary, ...companions] of WEIGHT_CHOICES) {
    const meta = await client.head(repoId, commit, primary!);
    if (!meta) continue;
    weights = [{ file: primary!, meta }];
    for (const companion of companions) {
      const extra = await client.head(repoId, commit, companion);
      if (extra) weights.push({ file: companion, meta: extra });
    }
    break;
  }
  if (weights.length === 0) {
    throw new ModelError(
      `${repoId}@${revision} has no weights biovec reads: neither model.safetensors, pytorch_model.bin ` +
        '(or a sharded index of either) nor an ONNX export',
    );
  }
  for (const { file, meta } of [...wanted, ...weights]) await client.download(repoId, revision, file, meta);
  if (weights[0]!.file.endsWith('.index.json')) await downloadShards(client, cache, { repoId, revision, commit, index: weights[0]!.file });
  await cache.writeRef(repoId, revision, commit);
  return { dir: cache.snapshotDir(repoId, commit), modelId: repoId, revision: commit };
}

/**
 * Each shard an index names, one after another, through the same resumable, checksummed
 * download as a single file. Throws ModelError when the hub lacks a shard the index names.
 */
async function downloadShards(client: HubClient, cache: HfCache, at: { repoId: string; revision: string; commit: string; index: string }): Promise<void> {
  const { shards } = await readShardIndex(join(cache.snapshotDir(at.repoId, at.commit), at.index));
  for (const shard of shards) {
    const meta = await client.head(at.repoId, at.commit, shard);
    if (!meta) throw new ModelError(`${at.repoId}@${at.revision}: ${at.index} names shard ${shard}, which the repo does not have`);
    await client.download(at.repoId, at.revision, shard, meta);
  }
}

async function fromCache(cache: HfCache, repoId: string, revision: string, why: string, cause?: unknown): Promise<ResolvedModel> {
  const commit = await cache.resolveRevision(repoId, revision);
  if (!commit || !(await exists(`${cache.snapshotDir(repoId, commit)}/config.json`))) {
    throw new ModelError(
      `${why}, and ${repoId}@${revision} is not in the cache ${cache.root}. Next: run \`biovec model pull ${repoId}\` ` +
        'where the hub is reachable (HF_ENDPOINT=<url> for a mirror; HF_HUB_CACHE to use a cache copied from there), ' +
        'or pass --model DIR, a local directory holding the model files (config.json, tokenizer.json, model.safetensors)',
      { cause },
    );
  }
  return { dir: cache.snapshotDir(repoId, commit), modelId: repoId, revision: commit };
}
