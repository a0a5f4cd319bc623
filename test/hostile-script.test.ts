// Runs the hostile-input replay (scripts/hostile.ts) in its quick form against a served biovec
// on PGlite; .ci/run also runs the full one on Postgres.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/fixtures.js';
import { runTsx } from './helpers/run-tsx.js';

const runHostile = () => runTsx(join(REPO_ROOT, 'scripts', 'hostile.ts'), ['--json', '--quick']);

describe('hostile-input replay (issue 10)', () => {
  it('gets no 5xx and no crash from any bad input, bomb or bad token', async () => {
    const { code, stdout, stderr } = await runHostile();
    const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    expect({ server_errors: summary.server_errors, crashes: summary.crashes, errors: summary.errors }, stderr.slice(-3000)).toEqual({ server_errors: 0, crashes: 0, errors: [] });
    expect(summary.input_cases).toBeGreaterThan(60);
    expect(code).toBe(0);
  }, 600_000);
});
