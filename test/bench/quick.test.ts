// `make bench QUICK=1` inside `make test`: every benchmark runs once with small N through the
// harness, so a benchmark that no longer works fails CI. Figures are not checked (the machine is
// shared); that every benchmark produced finite rows for both sides, and nothing failed, is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCHMARKS } from '../../bench/run.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('make bench QUICK=1: every benchmark runs and gives finite rows, none fails', { timeout: 600_000 }, () => {
  rmSync(join(ROOT, '.cache/bench/quick.json'), { force: true }); // never read a previous run's
  const r = spawnSync('scripts/bench.sh', ['--quick'], { cwd: ROOT, encoding: 'utf8', timeout: 540_000, env: { ...process.env, QUICK: '1' } });
  const out = `${r.stdout}\n${r.stderr}`;
  const result = JSON.parse(readFileSync(join(ROOT, '.cache/bench/quick.json'), 'utf8')) as {
    quick: boolean;
    failures: Array<{ bench: string; error: string }>;
    rows: Array<{ bench: string; ours: number[]; theirs: number[] }>;
    machine: { nproc: number; kernel: string; cpu: string };
  };
  assert.deepEqual(result.failures, [], out.slice(-4000));
  assert.equal(r.status, 0, out.slice(-4000));
  assert.equal(result.quick, true);
  assert.ok(result.machine.nproc > 0 && result.machine.kernel && result.machine.cpu);
  for (const name of Object.keys(BENCHMARKS)) {
    const rows = result.rows.filter((x) => x.bench === name);
    assert.ok(rows.length > 0, `${name} gave no rows`);
    for (const row of rows) {
      assert.ok(row.ours.length > 0 && row.ours.every(Number.isFinite), `${name}: side A not finite`);
      assert.ok(row.theirs.every(Number.isFinite), `${name}: anchor not finite`);
    }
    assert.ok(rows.some((x) => x.theirs.length > 0), `${name}: no row has an anchor`);
  }
});
