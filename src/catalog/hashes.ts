import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted, so equal metadata hashes equally whatever its key order.
 * Iterative, not recursive: input validation bounds metadata depth, but a hash must not be
 * the thing that overflows the stack when some path forgets to (issue 10). The output is
 * byte-for-byte what the earlier recursive version gave, so stored hashes stay valid.
 */
export function stableJson(value: unknown): string {
  const out: string[] = [];
  // Work items: a literal to emit, or a value to serialize; popped in order, pushed in reverse.
  const stack: (string | { value: unknown })[] = [{ value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const v = item.value;
    if (Array.isArray(v)) {
      out.push('[');
      stack.push(']');
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] });
        if (i > 0) stack.push(',');
      }
    } else if (v && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      out.push('{');
      stack.push('}');
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, x] = entries[i]!;
        stack.push({ value: x });
        stack.push(`${JSON.stringify(k)}:`);
        if (i > 0) stack.push(',');
      }
    } else {
      out.push(JSON.stringify(v ?? null));
    }
  }
  return out.join('');
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** What gets embedded; a change means new vectors. */
export function contentHash(title: string | null | undefined, body: string): string {
  return sha256(stableJson({ title: title ?? null, body }));
}

/** What only travels as payload; a change means a payload update, no embedding. */
export function metadataHash(metadata: Record<string, unknown>, labels: string[]): string {
  return sha256(stableJson({ metadata, labels: [...labels].sort() }));
}
