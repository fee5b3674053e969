// Lab library: leftovers of a crashed (SIGKILLed) run are removed on the next start; a live run's objects never are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Lab, run, cleanupStale, isRunning, RECORD_DIR } from './lib/index.js';

const CHILD = fileURLToPath(new URL('./lib/testdata/crashed-run.ts', import.meta.url));

interface Made {
  tag: string;
  dir: string;
  netns: string[];
  pid: number;
}

async function crashedRun(prefix: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ made: Made; childPid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  const made = JSON.parse(line) as Made;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal); // SIGKILL: no exit handler runs, everything it made is left behind
  await exited;
  return { made, childPid: child.pid! };
}

async function netnsNames(): Promise<string[]> {
  const r = await run(['ip', '-j', 'netns', 'list']);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { name: string }[]).map((x) => x.name) : [];
}

test('a SIGKILLed run leaves objects behind; the next start removes them and spares a live run', async () => {
  const live = await Lab.create({ prefix: 'labc', nodes: [{ name: 'x' }] });
  const fakeNs = `labc-fake${process.pid.toString(36)}-x`;
  try {
    const { made, childPid } = await crashedRun('labc');
    // the crash really left things: namespaces, the orphaned process, the scratch dir and the record
    const before = await netnsNames();
    for (const n of made.netns) assert.ok(before.includes(n), `${n} left by the crashed run`);
    assert.ok(isRunning(made.pid), 'orphan process still running');
    assert.ok(existsSync(made.dir));
    const recFile = readdirSync(RECORD_DIR).find((f) => f.startsWith(`labc-${childPid}-`));
    assert.ok(recFile, 'crashed run left its ownership record');

    // a record whose owner pid is alive but is another process (pid reuse: start time differs) is stale too
    await run(['ip', 'netns', 'add', fakeNs]);
    writeFileSync(
      join(RECORD_DIR, `labc-${process.pid}-999.json`),
      JSON.stringify({ version: 1, prefix: 'labc', tag: 'fake', owner: { pid: process.pid, startTime: 'not-this-process' }, createdAt: '', netns: [fakeNs], pids: [], dirs: [] }),
    );

    const res = cleanupStale();
    assert.ok(res.records.includes(recFile!));
    assert.ok(res.records.includes(`labc-${process.pid}-999.json`));
    const after = await netnsNames();
    for (const n of made.netns) assert.ok(!after.includes(n), `${n} removed`);
    assert.ok(!after.includes(fakeNs), 'pid-reuse record cleaned');
    assert.ok(!isRunning(made.pid), 'orphan process killed');
    assert.ok(!existsSync(made.dir), 'scratch dir removed');
    assert.ok(!existsSync(join(RECORD_DIR, recFile!)), 'record removed');

    // the live lab (same prefix) is untouched and still works
    assert.ok(after.includes(live.netns('x')), 'live namespace kept');
    assert.ok(existsSync(join(RECORD_DIR, `labc-${process.pid}-0.json`)) || readdirSync(RECORD_DIR).some((f) => f.startsWith(`labc-${process.pid}-`)));
    await live.exec('x', ['ip', 'link', 'show', 'lo']);
    // a second pass finds nothing more of ours to do
    assert.ok(!cleanupStale().netns.some((n) => n.startsWith('labc-')));
  } finally {
    await live.teardown();
    await run(['ip', 'netns', 'del', fakeNs], { check: false });
  }
  assert.ok(!(await netnsNames()).includes(live.netns('x')));
});

test('Lab.create runs the stale cleanup itself', async () => {
  const { made } = await crashedRun('labc');
  assert.ok((await netnsNames()).includes(made.netns[0]!));
  const lab = await Lab.create({ prefix: 'labc', nodes: [{ name: 'y' }] });
  try {
    const names = await netnsNames();
    for (const n of made.netns) assert.ok(!names.includes(n), `${n} removed by Lab.create`);
  } finally {
    await lab.teardown();
  }
});

test('SIGINT and SIGTERM run the teardown before the process dies', async () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const { made, childPid } = await crashedRun('labc', sig);
    const names = await netnsNames();
    for (const n of made.netns) assert.ok(!names.includes(n), `${sig}: ${n} removed by the exit hook`);
    assert.ok(!isRunning(made.pid), `${sig}: spawned process killed`);
    assert.ok(!existsSync(made.dir), `${sig}: scratch dir removed`);
    assert.ok(!readdirSync(RECORD_DIR).some((f) => f.startsWith(`labc-${childPid}-`)), `${sig}: record removed`);
  }
});

test('a detached lab outlives its process and is removed by the next run', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'labc', 'detach'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0);
  const made = JSON.parse(out.trim()) as Made;
  const names = await netnsNames();
  for (const n of made.netns) assert.ok(names.includes(n), `${n} kept after exit`);
  assert.ok(isRunning(made.pid), 'its process kept running');
  cleanupStale();
  const after = await netnsNames();
  for (const n of made.netns) assert.ok(!after.includes(n), `${n} removed by the next run`);
  assert.ok(!isRunning(made.pid));
});
