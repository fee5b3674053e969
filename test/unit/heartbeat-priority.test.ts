// Scheduling of the heartbeat thread, through the daemon (startDaemon + the node runtime, a
// two-member cluster on loopback, one child process per case): SCHED_FIFO at
// cluster.realtimePriority when the process may (root: CAP_SYS_NICE), seen in the kernel's own
// view of the thread; without CAP_SYS_NICE the daemon still runs, says so at warn level and in
// edgelb_cluster_heartbeat_scheduling{realtime="false"}; realtimePriority 0 asks for none. And the
// node flags the daemon needs for that thread (missingHeartbeatFlags): a process without them is
// warned about. No timing is asserted here (bench/failover-l2.ts measures false failovers).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingHeartbeatFlags } from '../../src/cluster/membership.js';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/lib/errors.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./heartbeat-priority-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FLAGS = ['--single-threaded-gc', '--no-concurrent-recompilation'];
const root = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'edgelb-hbprio-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'key'), 'heartbeat-priority-test-key-0123456789\n', { mode: 0o600 });
const base = 26000 + (process.pid % 1000) * 4;

interface ChildOut {
  scheduling?: string;
  threads: Array<{ tid: number; rtPriority: number; policy: number }>;
  gauge: Array<{ labels: { policy?: string; realtime?: string }; value: number }>;
  warnings: string[];
  infos: string[];
  healthz: number;
}

/** The daemon in a child process with `cluster` settings, node flags and an optional command prefix. */
async function daemon(name: string, cluster: string, opts: { flags?: string[]; prefix?: string[] } = {}): Promise<ChildOut> {
  const port = base + ['fifo', 'nocap', 'off'].indexOf(name);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `node: { name: ${name}, routerId: 127.0.0.1, interface: lo }
api: { listen: 127.0.0.1:0 }
dataplane: { enabled: false, pinRoot: ${join(dir, name)} }
cluster: { listen: 127.0.0.1:${port}, members: [127.0.0.1:${port}, 127.0.0.1:${port + 1000}], keyFile: ${join(dir, 'key')}${cluster} }
`,
  );
  const argv = [...(opts.prefix ?? []), process.execPath, ...(opts.flags ?? FLAGS), '--import', 'tsx', CHILD, file];
  const { stdout } = await run(argv[0]!, argv.slice(1), { cwd: REPO, timeout: 60_000 });
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, `no result from the child:\n${stdout}`);
  return JSON.parse(line) as ChildOut;
}

const realtimeGauge = (o: ChildOut) => o.gauge.find((g) => g.value === 1)?.labels;

test('the heartbeat thread runs SCHED_FIFO at cluster.realtimePriority when allowed; no warning', { timeout: 90_000 }, async () => {
  const o = await daemon('fifo', ', realtimePriority: 7');
  assert.equal(o.healthz, 200);
  if (root) {
    assert.equal(o.scheduling, 'SCHED_FIFO 7');
    // the kernel's view: exactly one thread of the daemon is real-time, SCHED_FIFO (1) at 7
    assert.deepEqual(o.threads.map((t) => [t.policy, t.rtPriority]), [[1, 7]]);
    assert.deepEqual(realtimeGauge(o), { policy: 'SCHED_FIFO 7', realtime: 'true' });
    assert.deepEqual(o.warnings.filter((w) => /priority|scheduling|--no-concurrent/.test(w)), []);
  } else {
    assert.notEqual(o.scheduling?.startsWith('SCHED_FIFO'), true);
  }
});

test('without CAP_SYS_NICE the daemon runs, warns, and the gauge says realtime="false"', { timeout: 90_000 }, async () => {
  // root without CAP_SYS_NICE in its bounding set: neither SCHED_FIFO (chrt) nor nice -10 is allowed
  const o = await daemon('nocap', '', { prefix: ['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice', '--'] });
  assert.equal(o.healthz, 200, 'the daemon serves its API');
  assert.equal(o.scheduling, 'normal');
  assert.deepEqual(o.threads, []);
  assert.deepEqual(realtimeGauge(o), { policy: 'normal', realtime: 'false' });
  assert.ok(o.warnings.some((w) => /without real-time priority \(normal\): grant CAP_SYS_NICE/.test(w)), o.warnings.join('\n'));
  assert.ok(o.warnings.some((w) => /without raised scheduling priority/.test(w)), o.warnings.join('\n'));
});

test('realtimePriority 0 asks for no real-time priority (nice -10 as root), said at info; missing node flags are warned about', { timeout: 90_000 }, async () => {
  const o = await daemon('off', ', realtimePriority: 0', { flags: [] });
  assert.equal(o.healthz, 200);
  assert.deepEqual(o.threads, []);
  if (root) assert.equal(o.scheduling, 'nice -10');
  assert.ok(o.infos.some((m) => /cluster\.realtimePriority is 0/.test(m)), o.infos.join('\n'));
  assert.ok(!o.warnings.some((w) => /grant CAP_SYS_NICE/.test(w)), o.warnings.join('\n'));
  assert.ok(o.warnings.some((w) => /without --single-threaded-gc --no-concurrent-recompilation: the heartbeat thread can wait/.test(w)), o.warnings.join('\n'));
});

test('missingHeartbeatFlags: both flags, or --single-threaded, are enough; anything else misses them', () => {
  const rows: Array<[string[], string[]]> = [
    [FLAGS, []],
    [['--single-threaded'], []],
    [['--max-semi-space-size=2', ...FLAGS.slice().reverse()], []],
    [[], FLAGS],
    [['--single-threaded-gc'], ['--no-concurrent-recompilation']],
    [['--no-concurrent-recompilation'], ['--single-threaded-gc']],
    [['--single-threaded-gc=false', '--concurrent-recompilation'], FLAGS],
    [['--import', 'tsx'], FLAGS],
  ];
  for (const [argv, want] of rows) assert.deepEqual(missingHeartbeatFlags(argv), want, argv.join(' '));
});

test('config: cluster.realtimePriority is an integer 0..99, default 10', () => {
  const cfg = (extra: string) => `node: { name: n1, routerId: 127.0.0.1, interface: lo }
cluster: { listen: 127.0.0.1:7946, members: [127.0.0.1:7946]${extra} }
`;
  assert.equal(parseConfig(cfg('')).state.cluster?.realtimePriority, 10);
  assert.equal(parseConfig(cfg(', realtimePriority: 0')).state.cluster?.realtimePriority, 0);
  assert.equal(parseConfig(cfg(', realtimePriority: 99')).state.cluster?.realtimePriority, 99);
  for (const bad of ['-1', '100', '1.5', '"high"', 'true', '[10]', 'null', '1e9']) {
    assert.throws(
      () => parseConfig(cfg(`, realtimePriority: ${bad}`)),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path === 'cluster.realtimePriority'),
      bad,
    );
  }
});
