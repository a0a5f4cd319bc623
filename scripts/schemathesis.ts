// Schemathesis over a served biovec (issue 10): every operation in /openapi.json, --checks all,
// at least 100 examples per operation, with an admin API key so auth paths are exercised.
//   npm run -s test:schemathesis [-- --examples 100] [--workers 2] [--json]
// Needs schemathesis in .venv-ci (`.ci/run` makes it; by hand:
// `python3 -m venv .venv-ci && .venv-ci/bin/pip install schemathesis==4.32.5`).
// Prints the counts (operations, test cases, server errors, response-schema violations, other
// failures) and exits non-zero when schemathesis finds anything.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, startServedBiovec } from './lib/served-biovec.js';

const { values } = parseArgs({ options: {
  json: { type: 'boolean', default: false }, examples: { type: 'string', default: '100' }, workers: { type: 'string', default: '2' },
  st: { type: 'string', default: join(REPO_ROOT, '.venv-ci', 'bin', 'st') }, seed: { type: 'string' }, 'database-url': { type: 'string' },
} });

if (!existsSync(values.st)) {
  process.stderr.write(`schemathesis: ${values.st} not found; create it with: python3 -m venv .venv-ci && .venv-ci/bin/pip install schemathesis==4.32.5\n`);
  process.exit(2);
}

interface Report {
  exit_code: number;
  operations: { total: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number; unique_failures: number; errored: number };
  failures: { code: string; title: string; count: number; operations: string[] }[];
  errors?: unknown[];
}

const SERVER_ERROR_CODES = new Set(['ST101', 'ST102']);
const SCHEMA_VIOLATION_CODES = new Set(['ST104', 'ST108']);

const server = await startServedBiovec(values['database-url'] ? { databaseUrl: values['database-url'] } : {});
const reportDir = await mkdtemp(join(tmpdir(), 'biovec-schemathesis-'));
const reportPath = join(reportDir, 'report.json');
let code = 1;
try {
  const args = [
    '--config-file', join(REPO_ROOT, 'scripts', 'schemathesis.toml'), 'run', `${server.url}/openapi.json`,
    '-H', `Authorization: Bearer ${server.token}`, '--checks', 'all', '--max-examples', values.examples, '--workers', values.workers,
    '--report', 'json', '--report-json-path', reportPath, '--no-color', '--request-timeout', '60',
    ...(values.seed ? ['--seed', values.seed] : []),
  ];
  const stCode = await new Promise<number>((resolve, reject) => {
    // Run in the temp dir: schemathesis keeps a crash cache in its working directory and
    // replays it first, which would make one run depend on the last.
    const child = spawn(values.st, args, { cwd: reportDir, stdio: ['ignore', values.json ? 'pipe' : 'inherit', values.json ? 'pipe' : 'inherit'] });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (c) => {
      if (values.json && c !== 0) process.stderr.write(output.slice(-20_000));
      resolve(c ?? 1);
    });
  });
  const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
  const sum = (codes: Set<string>) => report.failures.filter((f) => codes.has(f.code)).reduce((s, f) => s + f.count, 0);
  const summary = {
    operations: report.operations.total,
    operations_tested: report.operations.tested,
    operations_errored: report.operations.errored,
    test_cases: report.test_cases.generated,
    examples_per_operation: Number(values.examples),
    server_errors: sum(SERVER_ERROR_CODES),
    response_schema_violations: sum(SCHEMA_VIOLATION_CODES),
    other_failures: report.failures.filter((f) => !SERVER_ERROR_CODES.has(f.code) && !SCHEMA_VIOLATION_CODES.has(f.code)).reduce((s, f) => s + f.count, 0),
    failures: Object.fromEntries(report.failures.map((f) => [`${f.code} ${f.title}`, f.count])),
    server_crashed: server.hasExited(),
    max_rss_mb: Math.round(server.maxRssMb()),
  };
  process.stdout.write(`${JSON.stringify(summary, null, values.json ? undefined : 2)}\n`);
  const isClean = stCode === 0 && summary.server_errors === 0 && summary.response_schema_violations === 0 && summary.other_failures === 0 && !summary.server_crashed && summary.operations_errored === 0;
  code = isClean ? 0 : 1;
} finally {
  if (server.hasExited()) process.stderr.write(`biovec serve exited (${server.exitCode()}) during the run:\n${server.output().slice(-5000)}\n`);
  await server.stop();
  await rm(reportDir, { recursive: true, force: true });
}
process.exit(code);
