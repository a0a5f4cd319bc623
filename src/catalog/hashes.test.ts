import { describe, expect, it } from 'vitest';
import { contentHash, metadataHash, stableJson } from './hashes.js';

/** The recursive version stored hashes were made with; the iterative one must match it exactly. */
function recursiveStableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(recursiveStableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${recursiveStableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

describe('stableJson', () => {
  it('gives what the recursive version gave, for every JSON shape', () => {
    const samples: unknown[] = [
      null, undefined, 0, -1.5, 'a"b\\c', true, [], {}, [[]], [{}], [1, undefined, null, 'x'],
      { b: 1, a: [2, { d: 'x', c: null, e: undefined }], '': { 'k"': [] } },
      { metadata: { year: 2001, mesh: ['D1', 'D2'], nested: { z: { y: { x: [1, [2, [3]]] } } } }, labels: ['b', 'a'] },
      { é: 'ünïcode', '\u2028': '\ud83d\ude00' },
    ];
    for (const s of samples) expect(stableJson(s)).toBe(recursiveStableJson(s));
    expect(metadataHash({ b: 1, a: 2 }, ['y', 'x'])).toBe(metadataHash({ a: 2, b: 1 }, ['x', 'y']));
    expect(contentHash('t', 'b')).toMatch(/^[0-9a-f]{64}$/);
  });

  // Issue 10: metadata nested 10,000 deep overflowed the stack (500) in the recursive version.
  it('serializes nesting far deeper than any stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? { a: deep } : [deep];
    const json = stableJson(deep);
    expect(json.length).toBeGreaterThan(300_000);
    expect(json.startsWith('{"a":[{"a":[')).toBe(true);
    expect(() => metadataHash({ deep }, [])).not.toThrow();
  });
});
