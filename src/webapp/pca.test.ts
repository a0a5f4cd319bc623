import { describe, expect, it } from 'vitest';
import { projectPca } from './pca.js';

describe('projectPca', () => {
  // Points along (1, 2, 0, 0) with a smaller spread along (0, 0, 1, 0) and tiny noise on the last axis.
  const rows = Array.from({ length: 200 }, (_, i) => {
    const t = (i - 100) / 10;
    const s = Math.sin(i) * 8;
    return Float32Array.from([t * 1, t * 2, s, Math.cos(i * 7) * 0.01]);
  });

  it('finds the axes of largest variance, in order, and says how much each explains', () => {
    const { coords, explained } = projectPca(rows);
    expect(explained[0]).toBeGreaterThan(0.8);
    expect(explained[1]).toBeGreaterThan(0.05);
    expect(explained[0] + explained[1]).toBeGreaterThan(0.999);
    // x is about the projection on (1,2,0,0)/√5 of the centred row (the sampled sine is not quite uncorrelated with t; sign: largest loading positive).
    for (const i of [0, 57, 199]) expect(coords[2 * i]).toBeCloseTo(((i - 100) / 10) * Math.sqrt(5) - (-0.05 * Math.sqrt(5)), 1);
  });

  it('gives the same picture for the same rows, and copes with no rows or no variance', () => {
    expect(projectPca(rows).coords).toEqual(projectPca(rows).coords);
    expect(projectPca([]).coords.length).toBe(0);
    const same = projectPca([Float32Array.from([1, 2]), Float32Array.from([1, 2])]);
    expect([...same.coords]).toEqual([0, 0, 0, 0]);
    expect(same.explained).toEqual([0, 0]);
  });
});
