import { matchesFilter, payloadAt } from '../../filter-match.js';
import type { Filter, Payload, PayloadIndexSpec, PayloadValue } from '../../vector-index.js';

/**
 * The points of one collection in memory: slot-addressed vectors in one growable slab (for
 * exact scoring without copies), payloads, the id → slot map, and inverted indexes over the
 * declared keyword/integer/bool payload fields that narrow filtered searches.
 */
export class PointStore {
  vectors: Float32Array;
  readonly ids: (string | undefined)[] = [];
  readonly payloads: (Payload | undefined)[] = [];
  readonly slotOf = new Map<string, number>();
  private readonly free: number[] = [];
  private readonly inverted = new Map<string, Map<PayloadValue, Set<number>>>();

  constructor(
    readonly dims: number,
    indexes: PayloadIndexSpec[],
  ) {
    this.vectors = new Float32Array(dims * 1024);
    for (const spec of indexes) if (spec.type !== 'float') this.inverted.set(spec.field, new Map());
  }

  get size(): number {
    return this.slotOf.size;
  }

  /** One past the highest slot ever used. */
  get highSlot(): number {
    return this.ids.length;
  }

  /** Places a point (in its old slot when the id exists, else a free or new one); returns the slot. */
  put(id: string, vector: Float32Array, payload: Payload, slot?: number): number {
    const existing = this.slotOf.get(id);
    if (existing !== undefined) this.unindex(existing);
    const target = slot ?? existing ?? this.free.pop() ?? this.ids.length;
    this.ensureCapacity(target + 1);
    this.vectors.set(vector, target * this.dims);
    this.ids[target] = id;
    this.payloads[target] = payload;
    this.slotOf.set(id, target);
    this.index(target);
    return target;
  }

  remove(id: string): number | undefined {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return undefined;
    this.unindex(slot);
    this.slotOf.delete(id);
    this.ids[slot] = undefined;
    this.payloads[slot] = undefined;
    this.free.push(slot);
    return slot;
  }

  /** After loading a snapshot at fixed slots: the gaps between them become free slots. */
  reclaimFreeSlots(): void {
    this.free.length = 0;
    for (let slot = this.ids.length - 1; slot >= 0; slot--) if (this.ids[slot] === undefined) this.free.push(slot);
  }

  vector(slot: number): Float32Array {
    return this.vectors.subarray(slot * this.dims, (slot + 1) * this.dims);
  }

  /** Slots that pass the filter; narrowed by an inverted index where a condition allows. */
  matching(filter: Filter): number[] {
    let narrowest: Set<number> | undefined;
    for (const condition of filter.must) {
      const index = this.inverted.get(condition.key);
      if (!index) continue;
      let set: Set<number>;
      if ('match' in condition) set = index.get(condition.match) ?? new Set();
      else if ('any' in condition) set = new Set(condition.any.flatMap((v) => [...(index.get(v) ?? [])]));
      else continue; // ranges: scan the candidates instead
      if (!narrowest || set.size < narrowest.size) narrowest = set;
    }
    const out: number[] = [];
    const check = (slot: number) => {
      const payload = this.payloads[slot];
      if (payload && matchesFilter(payload, filter)) out.push(slot);
    };
    if (narrowest) for (const slot of narrowest) check(slot);
    else for (let slot = 0; slot < this.ids.length; slot++) check(slot);
    return out.sort((a, b) => a - b);
  }

  private ensureCapacity(slots: number): void {
    if (slots * this.dims <= this.vectors.length) return;
    const grown = new Float32Array(Math.max(slots, (this.vectors.length / this.dims) * 2) * this.dims);
    grown.set(this.vectors);
    this.vectors = grown;
  }

  private index(slot: number): void {
    for (const [field, index] of this.inverted) {
      const value = payloadAt(this.payloads[slot]!, field);
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v === undefined || v === null || typeof v === 'object') continue;
        let set = index.get(v);
        if (!set) index.set(v, (set = new Set()));
        set.add(slot);
      }
    }
  }

  private unindex(slot: number): void {
    const payload = this.payloads[slot];
    if (!payload) return;
    for (const [field, index] of this.inverted) {
      const value = payloadAt(payload, field);
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v === undefined || v === null || typeof v === 'object') continue;
        const set = index.get(v);
        set?.delete(slot);
        if (set?.size === 0) index.delete(v);
      }
    }
  }
}
