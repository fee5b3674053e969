// Lab library: ownership records; the stale cleanup removes only what dead owners (or reused pids) left, never a live owner's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = mkdtempSync(join(tmpdir(), 'edgelb-lab-own-'));
process.env.EDGELB_LAB_RECORD_DIR = join(root, 'records');
const { cleanupStale, procStartTime, isAlive, isRunning, RECORD_DIR } = await import('../../src/lab/lib/ownership.js');

test.after(() => rmSync(root, { recursive: true, force: true }));

function deadPid(): number {
  const r = spawnSync('true');
  return r.pid!; // exited and reaped: no such process any more (pid reuse within this test is unlikely)
}

test('procStartTime/isAlive/isRunning tell this process, a dead one and a reused pid apart', () => {
  const me = procStartTime(process.pid);
  assert.match(me ?? '', /^\d+$/);
  assert.equal(isAlive({ pid: process.pid, startTime: me! }), true);
  assert.equal(isAlive({ pid: process.pid, startTime: '1' }), false, 'same pid, other start time = another process');
  const dead = deadPid();
  assert.equal(procStartTime(dead), undefined);
  assert.equal(isAlive({ pid: dead, startTime: '1' }), false);
  assert.equal(isRunning(process.pid), true);
  assert.equal(isRunning(dead), false);
});

test('cleanupStale removes dead owners\' records and directories, keeps live ones, skips unreadable files', () => {
  assert.equal(RECORD_DIR, join(root, 'records'));
  mkdirSync(RECORD_DIR, { recursive: true });
  const mk = (name: string) => {
    const d = join(root, name);
    mkdirSync(d);
    writeFileSync(join(d, 'f'), 'x');
    return d;
  };
  const rows = [
    { file: 'dead-1-0.json', owner: { pid: deadPid(), startTime: '5' }, dir: mk('dead'), removed: true },
    { file: 'reused-2-0.json', owner: { pid: process.pid, startTime: 'other' }, dir: mk('reused'), removed: true },
    { file: 'live-3-0.json', owner: { pid: process.pid, startTime: procStartTime(process.pid)! }, dir: mk('live'), removed: false },
  ];
  for (const r of rows) {
    writeFileSync(join(RECORD_DIR, r.file), JSON.stringify({ version: 1, prefix: 'x', tag: 'x', owner: r.owner, createdAt: '', netns: [], pids: [], dirs: [r.dir] }));
  }
  writeFileSync(join(RECORD_DIR, 'garbage-4-0.json'), '{not json');
  const res = cleanupStale();
  assert.deepEqual(res.records.sort(), ['dead-1-0.json', 'reused-2-0.json']);
  for (const r of rows) {
    assert.equal(existsSync(r.dir), !r.removed, `${r.file}: dir`);
    assert.equal(existsSync(join(RECORD_DIR, r.file)), !r.removed, `${r.file}: record`);
  }
  assert.deepEqual(readdirSync(RECORD_DIR).sort(), ['garbage-4-0.json', 'live-3-0.json']);
  assert.deepEqual(cleanupStale().records, [], 'a second pass has nothing to do');
});

test('cleanupStale with no record directory does nothing', () => {
  rmSync(RECORD_DIR, { recursive: true, force: true });
  assert.deepEqual(cleanupStale(), { records: [], netns: [] });
});
