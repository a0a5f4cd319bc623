/**
 * The shortest decimal that reads back as the same float32, as numpy prints float32
 * (0.12345679, not 0.12345679104328156): CSVs stay half the size and lose nothing.
 */
export function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const target = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const text = target.toPrecision(digits);
    if (Math.fround(Number(text)) === target) return String(Number(text));
  }
  return String(Number(target.toPrecision(9)));
}
