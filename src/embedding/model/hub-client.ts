import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ModelError, UpstreamUnavailableError } from '../../lib/errors.js';
import { HfCache } from './hf-cache.js';

export interface HubOptions {
  /** Base URL of the hub or a mirror (HF_ENDPOINT). */
  endpoint: string;
  token?: string | undefined;
  cache: HfCache;
  timeoutMs: number;
  onProgress?: (p: DownloadProgress) => void;
}

export interface DownloadProgress {
  file: string;
  receivedBytes: number;
  totalBytes: number | undefined;
  done: boolean;
}

export interface FileMeta {
  commit: string;
  etag: string;
  size: number | undefined;
}

const isSha256 = (etag: string) => /^[0-9a-f]{64}$/.test(etag);

/**
 * Fetches files from a Hugging Face hub (or mirror) in its URL layout,
 * `{endpoint}/{repo}/resolve/{revision}/{file}`, into the shared cache: resumes partial
 * downloads, checks sizes and sha256 (LFS etags), and turns hub refusals into advice.
 */
export class HubClient {
  constructor(private readonly opts: HubOptions) {}

  private url(repoId: string, revision: string, file: string): string {
    const base = this.opts.endpoint.replace(/\/+$/, '');
    return `${base}/${repoId}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': 'biovec', ...extra };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    return headers;
  }

  /**
   * HEADs a file. Returns undefined when the repo exists but the file does not. Throws
   * ModelError for an unknown repo/revision or a gated repo, UpstreamUnavailableError when
   * the hub cannot be reached.
   */
  async head(repoId: string, revision: string, file: string): Promise<FileMeta | undefined> {
    const res = await this.fetch(this.url(repoId, revision, file), { method: 'HEAD', redirect: 'manual' });
    if (res.status === 404 || (res.status === 401 && res.headers.get('x-error-code') === 'RepoNotFound')) {
      const code = res.headers.get('x-error-code');
      if (code === 'EntryNotFound') return undefined;
      if (code === 'RepoNotFound' || code === 'RevisionNotFound') this.throwNotFound(repoId, revision, code);
      // A mirror without error codes: every model has config.json, so its absence means no repo.
      if (file !== 'config.json' && (await this.repoExists(repoId, revision))) return undefined;
      this.throwNotFound(repoId, revision);
    }
    this.throwForAuth(res, repoId);
    if (res.status >= 400) throw new UpstreamUnavailableError(`hub answered ${res.status} for ${repoId}/${file}`);
    const commit = res.headers.get('x-repo-commit');
    const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '').replace(/^W\//, '').replaceAll('"', '');
    const sizeHeader = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
    if (!commit || !etag) {
      throw new ModelError(`${this.opts.endpoint} did not send X-Repo-Commit/ETag for ${repoId}/${file}: not a Hugging Face hub endpoint?`);
    }
    return { commit, etag, size: sizeHeader === null ? undefined : Number(sizeHeader) };
  }

  /** Downloads one file into the cache (resuming a partial one) and links it into the snapshot. */
  async download(repoId: string, revision: string, file: string, meta: FileMeta): Promise<void> {
    const { cache } = this.opts;
    const blob = cache.blobPath(repoId, meta.etag);
    const alreadyThere = await stat(blob).then((s) => meta.size === undefined || s.size === meta.size, () => false);
    if (!alreadyThere) await this.fetchBlob(repoId, file, meta);
    await cache.linkSnapshot(repoId, meta.commit, file, meta.etag);
  }

  private async fetchBlob(repoId: string, file: string, meta: FileMeta): Promise<void> {
    const partial = `${this.opts.cache.blobPath(repoId, meta.etag)}.incomplete`;
    await mkdir(dirname(partial), { recursive: true });
    let offset = await stat(partial).then((s) => s.size, () => 0);
    if (meta.size !== undefined && offset > meta.size) {
      await rm(partial, { force: true });
      offset = 0;
    }
    // Pin the download to the commit HEAD reported, so a branch moving mid-download cannot mix versions.
    const res = await this.fetch(this.url(repoId, meta.commit, file), {
      headers: this.headers(offset > 0 ? { range: `bytes=${offset}-` } : {}),
    });
    this.throwForAuth(res, repoId);
    if (res.status === 416 && meta.size !== undefined && offset === meta.size) {
      // The partial file is already complete; fall through to verification.
    } else if (res.status !== 200 && res.status !== 206) {
      throw new UpstreamUnavailableError(`hub answered ${res.status} while downloading ${repoId}/${file}`);
    } else {
      if (res.status === 200) offset = 0; // server ignored Range: start over
      await this.writeBody(res, partial, { file, offset, total: meta.size });
    }
    await this.verify(partial, file, meta);
    await this.opts.cache.commitBlob(partial, repoId, meta.etag);
  }

  private async writeBody(res: Response, partial: string, p: { file: string; offset: number; total: number | undefined }): Promise<void> {
    if (!res.body) throw new UpstreamUnavailableError(`empty response body for ${p.file}`);
    let received = p.offset;
    const report = (done: boolean) => this.opts.onProgress?.({ file: p.file, receivedBytes: received, totalBytes: p.total, done });
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      report(false);
    });
    try {
      await pipeline(body, createWriteStream(partial, { flags: p.offset > 0 ? 'a' : 'w' }));
    } catch (err) {
      throw new UpstreamUnavailableError(`download of ${p.file} was interrupted at ${received} bytes; run the command again to resume`, { cause: err });
    }
    report(true);
  }

  private async verify(partial: string, file: string, meta: FileMeta): Promise<void> {
    const size = (await stat(partial)).size;
    if (meta.size !== undefined && size !== meta.size) {
      if (size > meta.size) await rm(partial, { force: true });
      throw new UpstreamUnavailableError(`${file}: got ${size} bytes, expected ${meta.size}; run the command again to resume`);
    }
    if (isSha256(meta.etag)) {
      const hash = createHash('sha256');
      await pipeline(createReadStream(partial), hash);
      const digest = hash.digest('hex');
      if (digest !== meta.etag) {
        await rm(partial, { force: true });
        throw new ModelError(`${file}: sha256 ${digest} does not match the hub's ${meta.etag}; the download was corrupt and has been removed, run the command again`);
      }
    }
  }

  private async repoExists(repoId: string, revision: string): Promise<boolean> {
    const res = await this.fetch(this.url(repoId, revision, 'config.json'), { method: 'HEAD', redirect: 'manual' });
    return res.status !== 404 || res.headers.get('x-error-code') === 'EntryNotFound';
  }

  private throwNotFound(repoId: string, revision: string, code?: string | null): never {
    if (code === 'RevisionNotFound') {
      throw new ModelError(`revision "${revision}" does not exist in ${repoId}; check --revision`);
    }
    throw new ModelError(
      `model ${repoId} was not found on ${this.opts.endpoint}: check the id, or set HF_TOKEN if it is private, ` +
        `or point --model at a local directory`,
    );
  }

  private throwForAuth(res: Response, repoId: string): void {
    if (res.status === 401 || res.status === 403) {
      throw new ModelError(
        this.opts.token
          ? `access to ${repoId} was refused with the given HF_TOKEN: accept the model's terms on its hub page or use a token that has access`
          : `${repoId} is gated or private: set HF_TOKEN to a token with access (after accepting its terms on the hub)`,
      );
    }
  }

  /**
   * fetch with a deadline on the response headers and an idle deadline on the body: a 500 MB
   * download may take minutes, but a stalled one must not hang forever.
   */
  private async fetch(url: string, init: RequestInit): Promise<Response> {
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(new Error('timed out')), this.opts.timeoutMs).unref();
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        headers: { ...this.headers(), ...(init.headers as Record<string, string> | undefined) },
        signal: controller.signal,
      });
    } catch (err) {
      clearTimeout(timer);
      // What to do next depends on the cache, which resolveModel knows: the detail says only why.
      throw new UpstreamUnavailableError(`cannot reach ${this.opts.endpoint} (${networkReason(err, this.opts.timeoutMs)})`, { cause: err });
    }
    clearTimeout(timer);
    if (!res.body) return res;
    const idleMs = this.opts.timeoutMs;
    const watched = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        start() {
          timer = setTimeout(() => controller.abort(new Error('stalled')), idleMs).unref();
        },
        transform(chunk, out) {
          clearTimeout(timer);
          timer = setTimeout(() => controller.abort(new Error('stalled')), idleMs).unref();
          out.enqueue(chunk);
        },
        flush() {
          clearTimeout(timer);
        },
      }),
    );
    return new Response(watched, { status: res.status, statusText: res.statusText, headers: res.headers });
  }
}

/** The cause a failed fetch hides behind "fetch failed": `connect ECONNREFUSED …`, `getaddrinfo ENOTFOUND …`. */
function networkReason(err: unknown, timeoutMs: number): string {
  const error = err as Error & { cause?: Error & { code?: string } };
  if (error.message === 'timed out') return `no answer within ${timeoutMs} ms`;
  return error.cause?.message || error.cause?.code || error.message;
}
