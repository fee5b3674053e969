// The XDP data path under exactly the DaemonSet's capabilities (read from manifests/daemonset.yaml,
// applied with setpriv: bounding, inheritable and ambient sets, uid 0 kept) in a private network
// namespace: load, a restart that takes the running program over (from its pin, no CAP_SYS_ADMIN),
// the conntrack counter (BPF_PROG_TEST_RUN) and cleanup. Without the program's pin (an older
// layout) the takeover needs CAP_SYS_ADMIN and the start fails saying so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { daemonSetPod } from './image-lib.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OWNER = fileURLToPath(new URL('./dataplane-owner.ts', import.meta.url));
const NS = `dpcaps${process.pid}`;
const NODE = `dpcaps-${process.pid}`;
const PIN = `/sys/fs/bpf/edgelb/${NODE}`;
const ARGS = JSON.stringify({ nodeName: NODE, iface: 'v0', maglevSize: 251, conntrackSize: 4096 });

function capsOfDaemonSet(): string[] {
  const sc = daemonSetPod().containers[0]!.securityContext!;
  assert.deepEqual(sc.capabilities?.drop, ['ALL']);
  return sc.capabilities!.add!.map((c) => c.toLowerCase());
}

/** argv running cmd in the namespace (nsenter keeps the host's /sys/fs/bpf) with only `caps`. */
function confined(caps: string[], cmd: string[]): string[] {
  const set = ['-all', ...caps.map((c) => `+${c}`)].join(',');
  return ['nsenter', `--net=/run/netns/${NS}`, 'setpriv', `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`, '--', ...cmd];
}

/** Run the data-path owner confined; resolves with its output once it is READY and stopped (SIGTERM), or exited. */
function runOwner(caps: string[]): Promise<{ ready: boolean; out: string; code: number | null }> {
  const [bin, ...argv] = confined(caps, ['node', '--import', 'tsx', OWNER, 'run', ARGS]);
  const p = spawn(bin!, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let ready = false;
  const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
  const onData = (b: Buffer) => {
    out += b.toString();
    if (!ready && out.includes('READY ')) {
      ready = true;
      p.kill('SIGTERM');
    }
  };
  p.stdout.on('data', onData);
  p.stderr.on('data', onData);
  return new Promise((resolve) => p.on('exit', (code) => (clearTimeout(timer), resolve({ ready, out, code }))));
}

const progId = () => (JSON.parse(execFileSync('ip', ['-n', NS, '-j', 'link', 'show', 'v0'], { encoding: 'utf8' })) as Array<{ xdp?: { prog?: { id: number } } }>)[0]!.xdp?.prog?.id ?? 0;

before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  for (const d of ['v0', 'v1']) execFileSync('ip', ['-n', NS, 'link', 'set', d, 'up']);
});
after(() => {
  try {
    execFileSync('ip', ['netns', 'del', NS]);
  } finally {
    rmSync(PIN, { recursive: true, force: true });
  }
});

test('the DaemonSet has no SYS_ADMIN, and under its capabilities load, restart (takeover) and cleanup all work', async () => {
  const caps = capsOfDaemonSet();
  assert.ok(!caps.includes('sys_admin'), 'the DaemonSet holds no SYS_ADMIN');
  const [sh, ...shArgs] = confined(caps, ['sh', '-c', 'capsh --decode=$(grep CapEff /proc/self/status | cut -f2)']);
  const capsh = execFileSync(sh!, shArgs, { encoding: 'utf8' });
  assert.ok(!capsh.includes('cap_sys_admin') && capsh.includes('cap_bpf'), capsh);

  const first = await runOwner(caps);
  assert.ok(first.ready, first.out);
  assert.match(first.out, /READY \{"takenOver":false,"attachMode":"generic"\}/);
  const id1 = progId();
  assert.ok(id1 > 0);
  assert.ok(existsSync(`${PIN}/edgelb_prog`), 'the program is pinned beside the maps');

  const second = await runOwner(caps);
  assert.ok(second.ready, second.out);
  assert.match(second.out, /READY \{"takenOver":true,"attachMode":"generic"\}/, 'taken over without CAP_SYS_ADMIN');
  assert.doesNotMatch(second.out, /Operation not permitted|needs CAP_SYS_ADMIN/);
  assert.notEqual(progId(), id1, 'replaced in place');

  // the conntrack counter's BPF_PROG_TEST_RUN works under the same set (else it counts by walking)
  assert.match(second.out, /^CONNTRACK kernel 0$/m);

  // regression: without the program's pin (older layout) the takeover needs CAP_SYS_ADMIN, and says so
  const attached = progId();
  unlinkSync(`${PIN}/edgelb_prog`);
  const third = await runOwner(caps);
  assert.equal(third.ready, false);
  assert.match(third.out, /needs CAP_SYS_ADMIN/);
  assert.equal(progId(), attached, 'the running program is left alone');
  // with CAP_SYS_ADMIN once, it is taken over by id and pinned again
  const fourth = await runOwner([...caps, 'sys_admin']);
  assert.match(fourth.out, /READY \{"takenOver":true/);
  assert.ok(existsSync(`${PIN}/edgelb_prog`));

  const [bin, ...argv] = confined(caps, ['node', '--import', 'tsx', OWNER, 'cleanup', ARGS]);
  const clean = execFileSync(bin!, argv, { cwd: ROOT, encoding: 'utf8' });
  assert.match(clean, /CLEANED \{"detached":true/);
  assert.equal(progId(), 0);
  assert.equal(existsSync(PIN), false);
});
