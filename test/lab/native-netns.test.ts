// The addon doing real jobs inside network namespaces: XDP attach on a veth counting real packets
// (and a second process taking the attached program over without detaching), an ARP frame sent
// on one end of a veth pair and received on the other through AF_PACKET, solicited-node multicast
// membership, and TCP MD5 (RFC 2385) sessions on loopback that node:net then drives.
// Each scenario runs in a child process (test/lab/native-child.ts) started with nsenter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, waitUntil } from './lib/index.js';
import { packageRoot, ETH_P_ARP } from '../../src/native/index.js';

const root = packageRoot();
const object = join(root, 'build/bpf/probe.bpf.o');
const pinDir = `/sys/fs/bpf/nat-netns-${process.pid}`;
let lab: Lab;

async function child(node: string, scenario: string, args: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await lab.exec(node, ['node', '--import', 'tsx', join(root, 'test/lab/native-child.ts'), scenario, JSON.stringify(args)], {
    check: false,
    timeoutMs: 30_000,
    cwd: root,
  });
  if (r.code !== 0) throw new Error(`${scenario} in ${node} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as Record<string, any>;
}

before(async () => {
  execFileSync('make', ['-s', 'build/bpf/probe.bpf.o'], { cwd: root });
  lab = await Lab.create({
    prefix: 'nat',
    nodes: [{ name: 'a' }, { name: 'b' }],
    links: [
      {
        a: { node: 'a', ifname: 'eth0', addrs: ['10.77.0.1/24', 'fd77::1/64'], mac: '02:00:00:77:00:01' },
        b: { node: 'b', ifname: 'eth0', addrs: ['10.77.0.2/24', 'fd77::2/64'], mac: '02:00:00:77:00:02' },
      },
    ],
  });
});

after(async () => {
  rmSync(pinDir, { recursive: true, force: true });
  await lab?.teardown();
});

test('XDP on a veth counts real packets; the attachment and pins outlive the loader; a new process takes over without detaching', async () => {
  const a = await child('a', 'xdp-attach', { object, pinDir, ifname: 'eth0' });
  assert.equal(a.query.mode, 'generic');
  assert.ok(a.query.progId > 0);
  assert.ok(a.maps.every((m: { reused: boolean }) => m.reused === false));

  // the loader has exited; the program still counts what node b sends
  const ping = await lab.exec('b', ['ping', '-c', '5', '-i', '0.2', '-W', '1', '10.77.0.1'], { check: false });
  assert.match(ping.stdout, /5 received/);
  const r1 = await child('a', 'xdp-read', { pinDir, ifname: 'eth0' });
  assert.ok(r1.packets >= 5, `packets ${r1.packets}`);
  assert.ok(r1.bytes >= 5 * 98, `bytes ${r1.bytes}`); // 5 echo requests of 98 bytes at least
  assert.equal(r1.perCpu.reduce((s: number, v: number) => s + v, 0), r1.packets);
  assert.equal(r1.query.progId, a.query.progId);

  // a new "daemon": reuses the pinned maps (the count goes on) and swaps the program atomically
  const t = await child('a', 'xdp-takeover', { object, pinDir, ifname: 'eth0' });
  assert.equal(t.before.progId, a.query.progId);
  assert.notEqual(t.after.progId, t.before.progId);
  assert.equal(t.after.mode, 'generic');
  assert.ok(t.maps.every((m: { reused: boolean }) => m.reused === true));
  assert.ok(t.packetsAtLoad >= r1.packets);
  assert.equal(t.staleReplace, 'EEXIST');

  await lab.exec('b', ['ping', '-c', '3', '-i', '0.2', '-W', '1', '10.77.0.1'], { check: false });
  const r2 = await child('a', 'xdp-read', { pinDir, ifname: 'eth0' });
  assert.ok(r2.packets >= r1.packets + 3, `packets ${r1.packets} -> ${r2.packets}`);

  const d = await child('a', 'xdp-detach', { ifname: 'eth0', pinDir });
  assert.deepEqual(d.query, { mode: 'none', progId: 0, nativeProgId: 0, genericProgId: 0, offloadProgId: 0 });
  // after detach nothing counts any more
  await lab.exec('b', ['ping', '-c', '2', '-i', '0.2', '-W', '1', '10.77.0.1'], { check: false });
  const r3 = await child('a', 'xdp-read', { pinDir, ifname: 'eth0' });
  assert.ok(d.packets >= r2.packets);
  assert.equal(r3.packets, d.packets);

  rmSync(pinDir, { recursive: true, force: true });
  assert.equal(existsSync(pinDir), false);
});

test('XDP through a pinned bpf_link: outlives its process, a later one swaps the program, unpinning detaches', async () => {
  const dir = `${pinDir}-link`;
  try {
    const a = await child('b', 'xdp-link', { object, pinDir: dir, ifname: 'eth0' });
    assert.equal(a.query.mode, 'generic');
    assert.ok(a.query.progId > 0);
    assert.equal(a.netlinkAttach, 'EBUSY');
    // the process is gone, the pinned link keeps the program attached
    const q = await child('b', 'xdp-query', { ifname: 'eth0' });
    assert.equal(q.query.progId, a.query.progId);
    await lab.exec('a', ['ping', '-c', '2', '-i', '0.2', '-W', '1', '10.77.0.2'], { check: false });
    const r = await child('b', 'xdp-read', { pinDir: dir, ifname: 'eth0' });
    assert.ok(r.packets >= 2);

    const u = await child('b', 'xdp-link-update', { object, pinDir: dir, ifname: 'eth0', release: true });
    assert.equal(u.before.progId, a.query.progId);
    assert.notEqual(u.after.progId, u.before.progId);
    assert.equal(u.after.mode, 'generic');
    assert.equal(u.staleUpdate, 'EPERM'); // the old program is no longer behind the link
    // pins dropped and the last fd closed: the link is gone and with it the attachment
    assert.equal(u.final.mode, 'none');
    const gone = await child('b', 'xdp-query', { ifname: 'eth0' });
    assert.equal(gone.query.mode, 'none');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('AF_PACKET: an ARP frame sent on one end of a veth arrives on the other', async () => {
  const marker = Buffer.from('edgelb-nat-marker').toString('hex');
  const rx = await lab.spawn('b', [
    'node',
    '--import',
    'tsx',
    join(root, 'test/lab/native-child.ts'),
    'packet-recv',
    JSON.stringify({ ifname: 'eth0', protocol: ETH_P_ARP, marker, timeoutMs: 10_000 }),
  ], { cwd: root });
  await waitUntil(() => rx.output().includes('ready'), (v) => v, { timeoutMs: 15_000, what: 'packet receiver ready' });

  // broadcast ARP request "who has 10.77.0.2, tell 10.77.0.1", padded with the marker
  const arp = Buffer.concat([
    Buffer.from('ffffffffffff', 'hex'), // destination: broadcast
    Buffer.from('020000770001', 'hex'), // source: a's MAC
    Buffer.from('0806', 'hex'), // EtherType ARP
    Buffer.from('0001' + '0800' + '06' + '04' + '0001', 'hex'), // Ethernet/IPv4, request
    Buffer.from('020000770001' + '0a4d0001', 'hex'), // sender MAC, IP 10.77.0.1
    Buffer.from('000000000000' + '0a4d0002', 'hex'), // target MAC, IP 10.77.0.2
    Buffer.from(marker, 'hex'),
  ]);
  const tx = await child('a', 'packet-send', { ifname: 'eth0', frame: arp.toString('hex') });
  assert.equal(tx.sent, arp.length);
  assert.equal(tx.mac, '020000770001');

  const exit = await rx.exited;
  const out = rx.output().trim().split('\n').pop() ?? '';
  assert.equal(exit.code, 0, rx.output());
  const got = JSON.parse(out) as { frame: string; meta: { pktType: string; protocol: number; ifindex: number }; tracked: number };
  assert.equal(got.frame, arp.toString('hex'));
  assert.equal(got.meta.pktType, 'broadcast');
  assert.equal(got.meta.protocol, ETH_P_ARP);
  assert.ok(got.meta.ifindex > 0);
});

test('AF_PACKET multicast membership adds the solicited-node group MAC to the interface', async () => {
  const group = 'ff02::1:ff00:abcd'; // -> 33:33:ff:00:ab:cd
  const p = await lab.spawn('a', [
    'node',
    '--import',
    'tsx',
    join(root, 'test/lab/native-child.ts'),
    'packet-membership',
    JSON.stringify({ ifname: 'eth0', group, holdMs: 3000 }),
  ], { cwd: root });
  await waitUntil(() => p.output().includes('joined'), (v) => v, { timeoutMs: 15_000, what: 'membership joined' });
  const maddr = await lab.exec('a', ['ip', 'maddr', 'show', 'dev', 'eth0']);
  assert.match(maddr.stdout, /link\s+33:33:ff:00:ab:cd/);
  const exit = await p.exited;
  assert.equal(exit.code, 0, p.output());
  const after = await lab.exec('a', ['ip', 'maddr', 'show', 'dev', 'eth0']);
  assert.doesNotMatch(after.stdout, /33:33:ff:00:ab:cd/);
});

test('TCP MD5: the right key connects and node:net talks over the fd; a wrong or missing key never connects', async () => {
  const rows = [
    { desc: 'IPv4 listener, IPv4 client', listenFamily: 4, clientFamily: 4 },
    { desc: 'IPv6 listener, IPv6 client', listenFamily: 6, clientFamily: 6 },
    { desc: 'dual-stack listener, IPv4 client (key on the v4-mapped address)', listenFamily: 6, clientFamily: 4 },
  ];
  for (const row of rows) {
    const r = await child('a', 'md5', {
      serverKey: 'edgelb-secret',
      clientKeys: ['edgelb-secret', 'wrong-key', ''],
      timeoutMs: 1500,
      listenFamily: row.listenFamily,
      clientFamily: row.clientFamily,
    });
    assert.deepEqual(
      r,
      {
        'edgelb-secret': { connected: true, reply: 'echo:hello' },
        'wrong-key': { connected: false, error: 'ETIMEDOUT' },
        '(none)': { connected: false, error: 'ETIMEDOUT' },
      },
      row.desc,
    );
  }
});

test('GTSM: a listener with minimum TTL 255 accepts TTL 255 and never sees TTL 64 (IPv4 and IPv6)', async () => {
  for (const family of [4, 6]) {
    const lo = family === 4 ? '127.0.0.1' : '::1';
    const r = await child('a', 'gtsm', { family, minTtl: 255, clientTtls: [255, 64], timeoutMs: 1500 });
    assert.deepEqual(r, { '255': `connected to ${lo}:port`, '64': 'ETIMEDOUT' }, `IPv${family}`);
  }
});
