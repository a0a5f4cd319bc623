import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/fixtures.js';

/** Runs scripts/chaos-outbox.ts briefly: SIGKILLed writers and an index outage lose nothing. */
function chaos(args: string[]): Promise<Record<string, number | string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'chaos-outbox.ts'), '--json', ...args], { cwd: REPO_ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!));
      } catch {
        reject(new Error(`chaos run printed no result: ${err.slice(-2000)}`));
      }
    });
  });
}

describe('crash safety of catalog → outbox → index', () => {
  it('loses nothing when writers are SIGKILLed, the index goes down and the collection is re-created meanwhile (PGlite, embedded index)', async () => {
    const result = await chaos(['--rounds', '5', '--min-ms', '200', '--max-ms', '900']);
    expect(result.kills).toBe(5);
    expect(result.acknowledged).toBeGreaterThan(20);
    expect(result).toMatchObject({ lost: 0, orphans: 0, missing: 0, stale: 0, recreated_during_outage: true, index: 'embedded' });
    expect(result.index_points).toBe(result.catalog_points);
  });
});
