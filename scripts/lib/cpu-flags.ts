import { readFileSync } from 'node:fs';

/** The SIMD features that decide onnxruntime's int8 kernels (VNNI/AMX vs AVX2's VPMADDUBSW), from /proc/cpuinfo. */
export function cpuFlags(): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return ['unknown (no /proc/cpuinfo)'];
  }
  const line = text.split('\n').find((l) => l.startsWith('flags')) ?? '';
  const flags = line.split(':')[1]?.trim().split(/\s+/) ?? [];
  return [...new Set(flags.filter((f) => f === 'avx2' || f.startsWith('avx512') || f.startsWith('amx') || f.includes('vnni')))].sort();
}
