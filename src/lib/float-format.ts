/**
 * The shortest decimal that reads back as the same float32, as numpy prints float32
 * (0.12345679, not 0.12345679104328156): CSVs stay half the size and lose nothing.
 */
export function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const target = Math.fround(value);
  // Starting at 6 digits loses nothing: float32 carries ~7.2, so any shorter decimal that
  // reads back is the 6-digit rounding with trailing zeros, which Number() → String() drops.
  for (let digits = 6; digits < 9; digits++) {
    const text = target.toPrecision(digits);
    if (Math.fround(Number(text)) === target) return String(Number(text));
  }
  return String(Number(target.toPrecision(9)));
}
