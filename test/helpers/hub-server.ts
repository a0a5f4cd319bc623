import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

export interface HubRepo {
  /** Directory whose files the repo serves. */
  dir: string;
  /** Requests need `Authorization: Bearer <token>` (a gated or private repo). */
  token?: string;
  commit?: string;
}

export interface HubFaults {
  /** Close the connection after this many body bytes on the first GET of each LFS file. */
  cutFirstDownloadAfterBytes?: number;
  /** Serve flipped bytes on the first GET of each LFS file (a corrupt transfer). */
  corruptFirstDownload?: boolean;
  /** Ignore Range headers and always send the whole file. */
  ignoreRange?: boolean;
}

interface FileEntry {
  bytes: Buffer;
  etag: string;
  isLfs: boolean;
}

/**
 * A local HTTP server in the Hugging Face hub's URL layout (`/{repo}/resolve/{revision}/{file}`)
 * and header contract (X-Repo-Commit, ETag / X-Linked-Etag, X-Linked-Size, X-Error-Code,
 * redirects for LFS files, Range), so the download path is tested end to end offline.
 */
export class HubServer {
  readonly requests: { method: string; url: string; range?: string; auth?: string }[] = [];
  private readonly files = new Map<string, Map<string, FileEntry>>();
  private readonly served = new Set<string>();
  private server: Server | undefined;
  private currentFaults: HubFaults = {};

  get faults(): HubFaults {
    return this.currentFaults;
  }

  /** New faults apply to the next download of each file. */
  set faults(faults: HubFaults) {
    this.currentFaults = faults;
    this.served.clear();
  }

  constructor(private readonly repos: Record<string, HubRepo>) {}

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  commitOf(repoId: string): string {
    return this.repos[repoId]?.commit ?? createHash('sha1').update(repoId).digest('hex');
  }

  async start(): Promise<this> {
    for (const [repoId, repo] of Object.entries(this.repos)) this.files.set(repoId, await indexDir(repo.dir));
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = decodeURIComponent(req.url ?? '');
    this.requests.push({ method: req.method ?? '', url, range: req.headers.range, auth: req.headers.authorization });
    const lfs = /^\/lfs\/([^/]+\/[^/]+)\/(.+)$/.exec(url);
    if (lfs) return this.sendBody(req, res, lfs[1]!, lfs[2]!);
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (!match) return this.error(res, 404, 'RepoNotFound');
    const [, repoId, revision, file] = match as unknown as [string, string, string, string];
    const repo = this.repos[repoId];
    // The hub answers 401 RepoNotFound for unknown repos when not authenticated, hiding private ones.
    if (!repo) return this.error(res, req.headers.authorization ? 404 : 401, 'RepoNotFound');
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) return this.error(res, 401, 'GatedRepo');
    const commit = this.commitOf(repoId);
    if (revision !== 'main' && revision !== commit) return this.error(res, 404, 'RevisionNotFound');
    const entry = this.files.get(repoId)!.get(file);
    if (!entry) return this.error(res, 404, 'EntryNotFound', commit);
    res.setHeader('x-repo-commit', commit);
    if (entry.isLfs) {
      res.setHeader('x-linked-etag', `"${entry.etag}"`);
      res.setHeader('x-linked-size', String(entry.bytes.length));
      res.setHeader('etag', `"${createHash('sha1').update(entry.etag).digest('hex')}"`);
      res.setHeader('location', `/lfs/${repoId}/${file}`);
      res.statusCode = 302;
      return void res.end();
    }
    res.setHeader('etag', `"${entry.etag}"`);
    if (req.method === 'HEAD') {
      res.setHeader('content-length', String(entry.bytes.length));
      return void res.end();
    }
    return this.sendBody(req, res, repoId, file);
  }

  private sendBody(req: IncomingMessage, res: ServerResponse, repoId: string, file: string): void {
    const entry = this.files.get(repoId)?.get(file);
    if (!entry) return this.error(res, 404, 'EntryNotFound');
    const key = `${repoId}/${file}`;
    const first = entry.isLfs && !this.served.has(key);
    this.served.add(key);
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !this.faults.ignoreRange) {
      start = Number(range[1]);
      if (start >= entry.bytes.length) {
        res.statusCode = 416;
        return void res.end();
      }
      res.statusCode = 206;
      res.setHeader('content-range', `bytes ${start}-${entry.bytes.length - 1}/${entry.bytes.length}`);
    }
    let body = entry.bytes.subarray(start);
    if (first && this.faults.corruptFirstDownload) body = Buffer.from(body.map((b) => b ^ 0xff));
    res.setHeader('content-length', String(body.length));
    if (first && this.faults.cutFirstDownloadAfterBytes !== undefined) {
      res.flushHeaders();
      // Give the client time to receive (and write) the bytes before the connection drops.
      res.write(body.subarray(0, this.faults.cutFirstDownloadAfterBytes), () => setTimeout(() => res.destroy(), 150));
      return;
    }
    res.end(body);
  }

  private error(res: ServerResponse, status: number, code: string, commit?: string): void {
    res.statusCode = status;
    res.setHeader('x-error-code', code);
    if (commit) res.setHeader('x-repo-commit', commit);
    res.end(JSON.stringify({ error: code }));
  }
}

async function indexDir(dir: string): Promise<Map<string, FileEntry>> {
  const out = new Map<string, FileEntry>();
  const walk = async (current: string): Promise<void> => {
    for (const name of await readdir(current)) {
      const path = join(current, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else {
        const bytes = await readFile(path);
        const rel = relative(dir, path);
        const isLfs = /\.(safetensors|onnx|onnx_data|bin)$/.test(rel);
        const etag = isLfs ? createHash('sha256').update(bytes).digest('hex') : createHash('sha1').update(bytes).digest('hex');
        out.set(rel, { bytes, etag, isLfs });
      }
    }
  };
  await walk(dir);
  return out;
}
