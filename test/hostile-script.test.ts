// Runs the hostile-input replay (scripts/hostile.ts) in its quick form against a served biovec
// on PGlite; .ci/run also runs the full one on Postgres.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = join(import.meta.dirname, '..');

function runHostile(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'hostile.ts'), '--json', '--quick'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('hostile-input replay (issue 10)', () => {
  it('gets no 5xx and no crash from any bad input, bomb or bad token', async () => {
    const { code, stdout, stderr } = await runHostile();
    const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    expect({ server_errors: summary.server_errors, crashes: summary.crashes, errors: summary.errors }, stderr.slice(-3000)).toEqual({ server_errors: 0, crashes: 0, errors: [] });
    expect(summary.input_cases).toBeGreaterThan(60);
    expect(code).toBe(0);
  }, 600_000);
});
