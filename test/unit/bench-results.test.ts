// The per-benchmark results files (bench/lib/results.ts): each benchmark writes its own
// <bench>.{md,json}, latest.* is regenerated from all present, a partial run erases nothing, and
// a torn, foreign or hostile file is skipped with a reason rather than trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Machine, Row } from '../../bench/lib/harness.js';
import { parseBenchResult, readBenchResults, resultStem, writeBenchResult, writeLatest, type BenchResult } from '../../bench/lib/results.js';

const machineAt = (date: string, host = 'vm'): Machine => ({ date, host, nproc: 2, cpu: 'AMD EPYC', kernel: '6.1', memGiB: 23.5, node: 'v20', loadavg: [0.1, 0.2, 0.3] });
const row = (bench: string, figure: string, ours: number[], theirs: number[]): Row => ({ bench, figure, unit: 'ms', better: 'lower', ours, anchor: 'anchor', theirs, goal: '≤ 1 ms', met: false });
const result = (bench: string, date: string, rows: Row[]): BenchResult => ({ bench, title: `${bench} title`, machine: machineAt(date), quick: false, runsPerSide: 5, seconds: 12, rows });

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'bench-results-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('each benchmark writes its own files; latest holds every benchmark present, each with its date', () => {
  withDir((dir) => {
    writeBenchResult(dir, result('maglev', '2026-12-01T10:00:00.000Z', [row('maglev', 'remap share', [1, 2, 3], [1, 1, 1])]));
    writeBenchResult(dir, result('bgp-transfer', '2026-12-07T04:00:00.000Z', [row('bgp-transfer', 'IPv4 1k', [10, 11], [3000, 3001])]));
    const got = writeLatest(dir, ['maglev', 'bgp-transfer']);
    assert.deepEqual(got.skipped, []);
    assert.deepEqual(got.results.map((r) => r.bench), ['maglev', 'bgp-transfer']);
    const md = readFileSync(join(dir, 'latest.md'), 'utf8');
    assert.match(md, /`maglev`: 2026-12-01 · vm · 2 CPUs/);
    assert.match(md, /`bgp-transfer`: 2026-12-07 · vm/);
    assert.match(md, /\| maglev \| remap share \| 2\.00 ms \|/);
    assert.match(md, /\| bgp-transfer \| IPv4 1k \| 10\.5 ms \|/);
    const latest = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { benches: Array<{ bench: string }>; rows: Array<{ bench: string; ratio: number }> };
    assert.deepEqual(latest.benches.map((b) => b.bench), ['maglev', 'bgp-transfer']);
    assert.equal(latest.rows.length, 2);
    assert.match(readFileSync(join(dir, 'maglev.md'), 'utf8'), /^# maglev\n\nmaglev title\n\n2026-12-01 · vm/);
  });
});

test('a partial run (one benchmark again) replaces only that benchmark and keeps the others', () => {
  withDir((dir) => {
    writeBenchResult(dir, result('maglev', '2026-12-01T10:00:00.000Z', [row('maglev', 'remap share', [1], [1])]));
    writeBenchResult(dir, result('memory', '2026-12-01T10:00:00.000Z', [row('memory', 'idle RSS', [70], [30])]));
    writeLatest(dir);
    writeBenchResult(dir, result('memory', '2026-12-07T05:00:00.000Z', [row('memory', 'idle RSS', [60], [30])]));
    const got = writeLatest(dir);
    assert.deepEqual(got.results.map((r) => [r.bench, r.machine.date.slice(0, 10), r.rows[0]!.ours[0]]), [
      ['maglev', '2026-12-01', 1],
      ['memory', '2026-12-07', 60],
    ]);
  });
});

test('latest skips torn, foreign, misnamed and QUICK files, and says why', () => {
  withDir((dir) => {
    writeBenchResult(dir, result('maglev', '2026-12-01T10:00:00.000Z', [row('maglev', 'remap share', [1], [1])]));
    writeFileSync(join(dir, 'torn.json'), '{"bench": "torn", "machine": {');
    writeFileSync(join(dir, 'foreign.json'), JSON.stringify({ hello: 'world' }));
    writeFileSync(join(dir, 'renamed.json'), readFileSync(join(dir, 'maglev.json'), 'utf8'));
    writeFileSync(join(dir, 'quickrun.json'), JSON.stringify({ ...result('quickrun', '2026-12-01T10:00:00.000Z', [row('quickrun', 'x', [1], [])]), quick: true }));
    writeFileSync(join(dir, 'norows.json'), JSON.stringify({ ...result('norows', '2026-12-01T10:00:00.000Z', []) }));
    writeFileSync(join(dir, 'strings.json'), JSON.stringify(result('strings', '2026-12-01T10:00:00.000Z', [{ ...row('strings', 'x', [], []), ours: ['1'] as unknown as number[] }])));
    writeFileSync(join(dir, 'baddate.json'), JSON.stringify({ ...result('baddate', 'yesterday', [row('baddate', 'x', [1], [])]) }));
    writeFileSync(join(dir, 'latest.json'), '{}'); // never read back into itself
    const got = writeLatest(dir);
    assert.deepEqual(got.results.map((r) => r.bench), ['maglev']);
    const why = Object.fromEntries(got.skipped.map((s) => s.split(': ')));
    assert.deepEqual(Object.keys(why).sort(), ['baddate.json', 'foreign.json', 'norows.json', 'quickrun.json', 'renamed.json', 'strings.json', 'torn.json']);
    assert.match(why['renamed.json']!, /holds maglev/);
    assert.match(why['quickrun.json']!, /QUICK/);
  });
});

test('non-finite values survive the round trip as NaN (JSON writes them as null)', () => {
  withDir((dir) => {
    writeBenchResult(dir, result('memory', '2026-12-01T10:00:00.000Z', [row('memory', 'idle RSS', [70, NaN], [])]));
    const r = parseBenchResult(readFileSync(join(dir, 'memory.json'), 'utf8'), 'memory');
    assert.equal(r.rows[0]!.ours[0], 70);
    assert.ok(Number.isNaN(r.rows[0]!.ours[1]));
    assert.equal(r.rows[0]!.goal, '≤ 1 ms');
    assert.equal(r.rows[0]!.met, false);
  });
});

test('a benchmark name that could leave the folder or clobber latest is refused', () => {
  for (const bad of ['../x', 'a/b', 'latest', 'quick', '', 'A', '.hidden', 'x'.repeat(65)]) assert.throws(() => resultStem(bad), /bad benchmark name/, bad);
  withDir((dir) => {
    assert.throws(() => writeBenchResult(dir, result('../escape', '2026-12-01T10:00:00.000Z', [row('x', 'x', [1], [])])), /bad benchmark name/);
    assert.equal(existsSync(join(dir, '..', 'escape.json')), false);
  });
  assert.deepEqual(readBenchResults('/nonexistent/bench-results'), { results: [], skipped: [] });
});
