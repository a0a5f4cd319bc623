import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExportWriter, type ExportFormat, type ExportRow } from './export-row.js';
import { range, testRow, writeAll } from './test-support.js';

// Reference Python used for parity checks on dev machines; CI has none, so these skip there.
const PYTHON = '/opt/refvenv/bin/python';

function hasModule(module: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

function runPython(script: string, ...args: string[]): unknown {
  const result = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

const hasNumpy = hasModule('numpy');
const hasPyarrow = hasModule('pyarrow');
const DIMS = 8;
const ROWS: ExportRow[] = range(5).map((i) => testRow(i, DIMS, i === 3 ? 2 : undefined));
let dir = '';

async function exportFile(format: ExportFormat, name: string): Promise<string> {
  const path = join(dir, name);
  await writeAll(createExportWriter(format, createWriteStream(path), { dims: DIMS, rows: ROWS.length }), ROWS);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'biovec-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasNumpy)(`numpy reads the .npy (skipped when ${PYTHON} lacks numpy)`, () => {
  it('np.load gives the float32 matrix, and np.save writes the same bytes', async () => {
    const path = await exportFile('npy', 'v.npy');
    const script = [
      'import io, json, sys, numpy as np',
      'x = np.load(sys.argv[1])',
      'buf = io.BytesIO(); np.save(buf, x)',
      'same = buf.getvalue() == open(sys.argv[1], "rb").read()',
      'print(json.dumps({"dtype": str(x.dtype), "shape": list(x.shape), "values": x.tolist(), "same": same}))',
    ].join('\n');
    const out = runPython(script, path) as { dtype: string; shape: number[]; values: number[][]; same: boolean };
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([ROWS.length, DIMS]);
    expect(out.values).toEqual(ROWS.map((row) => Array.from(row.vector)));
    expect(out.same).toBe(true);
  });
});

describe.skipIf(!hasPyarrow)(`pyarrow reads the .parquet (skipped when ${PYTHON} lacks pyarrow)`, () => {
  it('pq.read_table gives string columns, int32 chunk and a list<float> vector', async () => {
    const path = await exportFile('parquet', 'v.parquet');
    const script = [
      'import json, sys, pyarrow.parquet as pq',
      't = pq.read_table(sys.argv[1])',
      'types = {f.name: str(f.type) for f in t.schema}',
      'print(json.dumps({"types": types, "rows": t.to_pylist()}))',
    ].join('\n');
    const out = runPython(script, path) as { types: Record<string, string>; rows: Record<string, unknown>[] };
    expect(out.types).toMatchObject({ key: 'string', input: 'string', label: 'string', chunk: 'int32' });
    expect(out.types['vector']).toMatch(/^list<element: float( not null)?>$/);
    expect(out.rows).toEqual(
      ROWS.map((row) => ({
        key: row.key,
        input: row.input,
        label: row.labels.join(';'),
        chunk: row.chunk ?? null,
        vector: Array.from(row.vector),
      })),
    );
  });
});
