// Every call to the biovec API: the key (sessionStorage) as a bearer token, problem+json
// errors turned into ApiError, and 401/403/429 shown plainly (issue 13).
const KEY_STORAGE = 'biovec.apiKey';

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { pointer: string; detail: string }[];
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem, readonly retryAfterS: number | undefined) {
    super(describeProblem(status, problem, retryAfterS));
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 409: 'Conflict', 413: 'Too large', 422: 'Invalid input', 429: 'Too many requests', 503: 'Unavailable' };

export function describeProblem(status: number, problem: Problem, retryAfterS?: number): string {
  const head = `${status} ${problem.title ?? STATUS_TEXT[status] ?? 'Error'}`;
  const fields = (problem.errors ?? []).map((e) => `${e.pointer || '/'} ${e.detail}`).join('; ');
  const retry = status === 429 && retryAfterS !== undefined ? ` Retry in ${retryAfterS} s.` : '';
  return `${head}: ${problem.detail ?? ''}${fields ? ` (${fields})` : ''}${retry}`;
}

export const getKey = (): string | null => sessionStorage.getItem(KEY_STORAGE);
export function setKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

type AuthListener = (err: ApiError) => void;
const authListeners: AuthListener[] = [];
/** Called on every 401 or 403, so the page can ask for a (better) key. */
export function onAuthProblem(fn: AuthListener): void {
  authListeners.push(fn);
}

/** fetch() against the API with the key; resolves only for 2xx, else throws ApiError. */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = getKey();
  if (key) headers.set('authorization', `Bearer ${key}`);
  const res = await fetch(path, { ...init, headers });
  if (res.ok) return res;
  let problem: Problem = {};
  try {
    problem = (await res.json()) as Problem;
  } catch {
    problem = { detail: res.statusText };
  }
  const retry = res.headers.get('retry-after');
  const err = new ApiError(res.status, problem, retry === null ? undefined : Number(retry));
  if (res.status === 401 || res.status === 403) for (const fn of authListeners) fn(err);
  throw err;
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await api(path, init)).json()) as T;
}

export const postJson = <T>(path: string, body: unknown): Promise<T> =>
  apiJson<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export interface Collection {
  name: string;
  documents: number;
  distance: string;
  created_at: string;
  model: { id: string; revision: string | null; pooling: string; max_tokens: number; dims: number };
}

export interface Hit {
  id: string;
  score: number;
  title: string | null;
  metadata: Record<string, unknown>;
  labels: string[];
  chunk: { index: number; start: number; end: number; text?: string };
}

export interface SearchResponse {
  results: Hit[];
  query_tokens?: number;
  took_ms: number;
  /** The mode that ran, where the server has search modes. */
  mode?: string;
}

export interface DocumentView {
  id: string;
  title: string | null;
  text: string;
  metadata: Record<string, unknown>;
  labels: string[];
}

export const listCollections = async (): Promise<Collection[]> => (await apiJson<{ collections: Collection[] }>('/v1/collections')).collections;

export const enc = encodeURIComponent;
export const getDocument = (collection: string, id: string) => apiJson<DocumentView>(`/v1/collections/${enc(collection)}/documents/${enc(id)}`);
