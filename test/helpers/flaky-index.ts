import { UpstreamUnavailableError } from '../../src/lib/errors.js';
import type { VectorIndex } from '../../src/vectors/vector-index.js';

/**
 * Wraps a real index and, while `down` is set, fails every call the way an unreachable
 * Qdrant does (UpstreamUnavailableError). A test double at the port, for outage tests.
 */
export function flakyIndex(inner: VectorIndex): VectorIndex & { down: boolean; calls: number } {
  const state = { down: false, calls: 0 };
  const guard = <T>(fn: () => Promise<T>): Promise<T> => {
    state.calls += 1;
    return state.down ? Promise.reject(new UpstreamUnavailableError('vector index unreachable (test outage)')) : fn();
  };
  return Object.assign(state, {
    ensureCollection: (spec: Parameters<VectorIndex['ensureCollection']>[0]) => guard(() => inner.ensureCollection(spec)),
    collectionInfo: (name: string) => guard(() => inner.collectionInfo(name)),
    dropCollection: (name: string) => guard(() => inner.dropCollection(name)),
    upsert: (c: string, p: Parameters<VectorIndex['upsert']>[1]) => guard(() => inner.upsert(c, p)),
    deleteByIds: (c: string, ids: string[]) => guard(() => inner.deleteByIds(c, ids)),
    deleteByFilter: (c: string, f: Parameters<VectorIndex['deleteByFilter']>[1]) => guard(() => inner.deleteByFilter(c, f)),
    search: (c: string, q: Parameters<VectorIndex['search']>[1]) => guard(() => inner.search(c, q)),
    searchLexical: (c: string, q: Parameters<VectorIndex['searchLexical']>[1]) => guard(() => inner.searchLexical(c, q)),
    count: (c: string, f?: Parameters<VectorIndex['count']>[1]) => guard(() => inner.count(c, f)),
    iterate: (c: string, o?: Parameters<VectorIndex['iterate']>[1]) => {
      if (state.down) throw new UpstreamUnavailableError('vector index unreachable (test outage)');
      return inner.iterate(c, o);
    },
    setAlias: (a: string, c: string) => guard(() => inner.setAlias(a, c)),
    close: () => inner.close(),
  });
}
