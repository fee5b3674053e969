// XDP data path with real traffic: client namespace -> router -> VIP on node1 (XDP on its uplink)
// -> backend namespaces running HTTP, UDP echo and TCP echo servers. Every mode end to end (dnat:
// the backend sees the client's address; onearm: the node's; fullnat: the VIP; dsr: the backend
// answers directly), IPv4 and IPv6, spread over backends, and an established TCP connection that
// survives kill -9 of the process owning the data path and its restart a second later (takeover
// without detach), and a backend's MAC change that new flows follow once the next-hop map holds it.
// Runs in generic mode and in native mode (XDP program on the veth peer).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, run, waitUntil, type LabProcess } from './lib/index.js';
import type { DataplaneService } from '../../src/dataplane/types.js';
import { u32Key } from '../../src/dataplane/native.js';
import { loadNative } from '../../src/native/index.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = ['node', '--import', 'tsx'];
const BACKENDS = 3;
const be4 = (j: number) => edgePlan.backend(j).v4;
const be6 = (j: number) => edgePlan.backend(j).v6;
const NODE4 = edgePlan.node(1).v4;
const NODE6 = edgePlan.node(1).v6;
const CLIENT4 = '10.100.0.2';

const CLIENT6 = 'fd00:100::2';
const VIP = { dnat: '10.200.0.1', onearm: '10.200.0.2', fullnat: '10.200.0.3', dsr: '10.200.0.4', dnat6: 'fd00:200::1', onearm6: 'fd00:200::2', fullnat6: 'fd00:200::3', dsr6: 'fd00:200::4' };

function services(): DataplaneService[] {
  const list = (port: number, v6 = false) => Array.from({ length: BACKENDS }, (_, i) => ({ address: v6 ? be6(i + 1) : be4(i + 1), port }));
  const s = (name: string, vip: string, port: number, protocol: 'tcp' | 'udp', mode: DataplaneService['mode'], backends: DataplaneService['backends']): DataplaneService => ({
    name,
    vip,
    port,
    protocol,
    mode,
    backends,
    epSelect: 'maglev',
    timeoutSec: 300,
  });
  return [
    s('dnat-http', VIP.dnat, 80, 'tcp', 'dnat', list(8080)),
    s('dnat-udp', VIP.dnat, 53, 'udp', 'dnat', list(5353)),
    s('onearm-http', VIP.onearm, 80, 'tcp', 'onearm', list(8080)),
    s('onearm-udp', VIP.onearm, 53, 'udp', 'onearm', list(5353)),
    s('onearm-echo', VIP.onearm, 9000, 'tcp', 'onearm', list(9000)),
    s('fullnat-http', VIP.fullnat, 80, 'tcp', 'fullnat', list(8080)),
    s('fullnat-udp', VIP.fullnat, 53, 'udp', 'fullnat', list(5353)),
    s('dsr-http', VIP.dsr, 8080, 'tcp', 'dsr', list(8080)),
    s('dnat6-http', VIP.dnat6, 80, 'tcp', 'dnat', list(8080, true)),
    s('onearm6-http', VIP.onearm6, 80, 'tcp', 'onearm', list(8080, true)),
    s('fullnat6-http', VIP.fullnat6, 80, 'tcp', 'fullnat', list(8080, true)),
    s('dsr6-http', VIP.dsr6, 8080, 'tcp', 'dsr', list(8080, true)),
  ];
}

for (const attachMode of ['generic', 'native'] as const) {
  describe(`XDP data path lab (${attachMode} mode)`, () => {
    let lab: Lab | undefined;
    const nodeName = `xdpl-${process.pid}-${attachMode}`;
    let owner: LabProcess | undefined;
    let opened = { takenOver: true, attachMode: '' };
    const ownerArgs = () => JSON.stringify({ nodeName, iface: 'eth0', routerId: NODE4, attachMode, services: services() });

    async function startOwner(): Promise<{ takenOver: boolean; attachMode: string }> {
      const p = await lab!.spawn('node1', [...TSX, here('./dataplane-owner.ts'), 'run', ownerArgs()], { name: 'owner', cwd: ROOT });
      owner = p;
      const line = await waitUntil(
        () => {
          if (!p.running) throw new Error(`owner exited:\n${p.output()}`);
          return p.output().split('\n').find((l) => l.startsWith('READY '));
        },
        (l) => l !== undefined,
        { timeoutMs: 30_000, what: 'dataplane owner ready' },
      );
      return JSON.parse(line!.slice('READY '.length)) as { takenOver: boolean; attachMode: string };
    }

    async function curl(url: string, extra: string[] = []): Promise<string> {
      const r = await lab!.exec('client', ['curl', '-s', '--max-time', '3', ...extra, url], { check: false });
      return r.stdout.trim();
    }

    after(async () => {
      try {
        if (lab) await lab.exec('node1', [...TSX, here('./dataplane-owner.ts'), 'cleanup', JSON.stringify({ nodeName, iface: 'eth0' })], { check: false, cwd: ROOT });
      } finally {
        await lab?.teardown();
        const pins = `/sys/fs/bpf/edgelb/${nodeName}`;
        if (existsSync(pins)) rmSync(pins, { recursive: true, force: true });
      }
    });

    before(async () => {
      // the BPF objects (another build step may have removed build/)
      await run(['make', '-s', '-C', ROOT, 'build/bpf/edgelb_xdp.bpf.o', 'build/bpf/xdp_pass.bpf.o']);
      lab = await Lab.create(edgeTopology({ prefix: 'xdp', nodes: 1, backends: BACKENDS, client: true }));
      await lab.sysctl('node1', { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 });
      // the router sends VIP traffic to node1
      await lab.addRoute('router', { to: '10.200.0.0/24', via: NODE4 });
      await lab.addRoute('router', { to: 'fd00:200::/64', via: NODE6 });
      for (let j = 1; j <= BACKENDS; j++) {
        const b = `be${j}`;
        await lab.txOffloadOff(b, 'eth0');
        // dnat replies to the client and fullnat replies to the VIPs return through node1
        await lab.addRoute(b, { to: '10.100.0.0/24', via: NODE4 });
        await lab.addRoute(b, { to: '10.200.0.0/24', via: NODE4 });
        await lab.addRoute(b, { to: 'fd00:100::/64', via: NODE6 });
        await lab.addRoute(b, { to: 'fd00:200::/64', via: NODE6 });
        await lab.ip(b, ['-6', 'addr', 'add', `${VIP.dsr6}/128`, 'dev', 'lo']);
        await lab.ip(b, ['-6', 'rule', 'add', 'from', VIP.dsr6, 'lookup', '100', 'pref', '100']);
        await lab.ip(b, ['-6', 'route', 'add', 'default', 'via', edgePlan.router.lan6, 'table', '100']);
        // dsr: the VIP on lo, replies straight to the router
        await lab.ip(b, ['addr', 'add', `${VIP.dsr}/32`, 'dev', 'lo']);
        await lab.ip(b, ['rule', 'add', 'from', VIP.dsr, 'lookup', '100', 'pref', '100']);
        await lab.ip(b, ['route', 'add', 'default', 'via', edgePlan.router.lan4, 'table', '100']);
        const srv = await lab.spawn(b, [...TSX, here('./dataplane-backend.ts'), b], { name: `srv-${b}`, cwd: ROOT });
        await waitUntil(() => srv.output().includes('LISTENING'), (x) => x, { timeoutMs: 20_000, what: `${b} listening` });
      }
      if (attachMode === 'native') {
        // veth delivers native XDP_TX only to a peer that runs an XDP program
        await lab.ip('router', ['link', 'set', 'dev', 'node1', 'xdpdrv', 'obj', `${ROOT}/build/bpf/xdp_pass.bpf.o`, 'sec', 'xdp']);
      }
      opened = await startOwner();
      const link = await lab.exec('node1', ['ip', '-j', '-d', 'link', 'show', 'dev', 'eth0']);
      assert.match(link.stdout, /"xdp"/);
      // warm the router's neighbour entry on node1 (the backends' are managed by the data path)
      await lab.exec('node1', ['ping', '-c1', '-W2', edgePlan.router.lan4]);
      await lab.exec('node1', ['ping', '-6', '-c1', '-W2', edgePlan.router.lan6]);
    });

    test('attached in the requested mode, fresh (nothing to take over)', () => {
      assert.equal(opened.attachMode, attachMode);
      assert.equal(opened.takenOver, false);
    });

    const httpModes: Array<[string, string, string, (addr: string) => boolean]> = [
      ['dnat: the backend sees the client address', `http://${VIP.dnat}/`, 'dnat', (a) => a === CLIENT4],
      ['onearm: the backend sees the node address', `http://${VIP.onearm}/`, 'onearm', (a) => a === NODE4],
      ['fullnat: the backend sees the VIP', `http://${VIP.fullnat}/`, 'fullnat', (a) => a === VIP.fullnat],
      ['dsr: the backend sees the client and answers it directly', `http://${VIP.dsr}:8080/`, 'dsr', (a) => a === CLIENT4],
      ['dnat IPv6: the backend sees the client address', `http://[${VIP.dnat6}]/`, 'dnat6', (a) => a === CLIENT6],
      ['onearm IPv6: the backend sees the node IPv6 address', `http://[${VIP.onearm6}]/`, 'onearm6', (a) => a === NODE6],
      ['fullnat IPv6: the backend sees the VIP', `http://[${VIP.fullnat6}]/`, 'fullnat6', (a) => a === VIP.fullnat6],
      ['dsr IPv6: the backend answers the client directly', `http://[${VIP.dsr6}]:8080/`, 'dsr6', (a) => a === CLIENT6],
    ];
    for (const [desc, url, , seen] of httpModes) {
      test(`HTTP ${desc}; new connections spread over the backends`, async () => {
        const by = new Map<string, number>();
        for (let i = 0; i < 24; i++) {
          const out = await curl(url);
          const [name, addr] = out.split(' ');
          assert.ok(name && name.startsWith('be'), `answer ${JSON.stringify(out)}`);
          assert.ok(seen(addr ?? ''), `${desc}: backend saw ${addr}`);
          by.set(name, (by.get(name) ?? 0) + 1);
        }
        assert.ok(by.size >= 2, `spread: ${JSON.stringify([...by])}`);
      });
    }

    for (const [mode, vip, addrSeen] of [
      ['dnat', VIP.dnat, CLIENT4],
      ['onearm', VIP.onearm, NODE4],
      ['fullnat', VIP.fullnat, VIP.fullnat],
    ] as const) {
      test(`UDP ${mode}: echo through the VIP, the answer comes from the VIP`, async () => {
        const r = await lab!.exec('client', ['sh', '-c', `echo ping-${mode} | socat -t2 - UDP4:${vip}:53`], { check: false });
        const [name, addr, payload] = r.stdout.trim().split(' ');
        assert.ok(name?.startsWith('be'), `answer ${JSON.stringify(r.stdout)} ${r.stderr}`);
        assert.equal(addr, addrSeen);
        assert.equal(payload, `ping-${mode}`);
      });
    }

    test('counters and per-service stats reflect the traffic', async () => {
      owner!.signal('SIGUSR2');
      const line = await waitUntil(() => owner!.output().split('\n').reverse().find((l) => l.startsWith('STATS ')), (l) => l !== undefined, { timeoutMs: 5000, what: 'stats' });
      const st = JSON.parse(line!.slice(6)) as { counters: Record<string, number>; services: Array<{ name: string; packets: number }>; conntrackEntries: number };
      assert.ok(st.counters.tx! > 100, `tx ${st.counters.tx}`);
      assert.ok(st.conntrackEntries > 0);
      for (const name of ['dnat-http', 'onearm-http', 'fullnat-http', 'dsr-http', 'dnat-udp']) {
        assert.ok(st.services.find((s) => s.name === name)!.packets > 0, `${name} packets`);
      }
    });

    test('an established TCP connection survives kill -9 of the data-path owner and its restart', async (t) => {
      const conn = await lab!.spawn('client', [...TSX, here('./dataplane-longconn.ts'), VIP.onearm, '9000', '7'], { name: 'longconn', cwd: ROOT });
      await new Promise((r) => setTimeout(r, 1500));
      owner!.signal('SIGKILL');
      await owner!.exited;
      await new Promise((r) => setTimeout(r, 1000));
      const reopened = await startOwner();
      assert.equal(reopened.takenOver, true, 'the restarted owner took the data path over');
      assert.equal(reopened.attachMode, attachMode);
      await conn.exited;
      const line = conn.output().split('\n').find((l) => l.startsWith('RESULT '));
      assert.ok(line, `longconn output:\n${conn.output()}`);
      const r = JSON.parse(line.slice(7)) as { sent: number; echoed: number; maxRttMs: number; errors: string[]; closed: boolean };
      t.diagnostic(`lines sent ${r.sent}, echoed ${r.echoed}, max RTT ${r.maxRttMs} ms across kill -9 and restart`);
      assert.deepEqual(r.errors, []);
      assert.equal(r.closed, false);
      assert.ok(r.sent >= 60, `sent ${r.sent}`);
      assert.equal(r.echoed, r.sent, `every line echoed (${r.echoed}/${r.sent}), max RTT ${r.maxRttMs} ms`);
      // and new connections work through the restarted owner
      const out = await curl(`http://${VIP.onearm}/`);
      assert.match(out, /^be\d /);
    });

    test('a backend removed from the service gets no new flows', async () => {
      // program without be1 through a second owner restart (takeover keeps the others' flows)
      owner!.signal('SIGTERM');
      await owner!.exited;
      const p = await lab!.spawn('node1', [...TSX, here('./dataplane-owner.ts'), 'run', JSON.stringify({ nodeName, iface: 'eth0', routerId: NODE4, attachMode, services: services().map((s) => ({ ...s, backends: s.backends.filter((b) => b.address !== be4(1) && b.address !== be6(1)) })) })], { name: 'owner', cwd: ROOT });
      owner = p;
      await waitUntil(() => p.output().includes('READY '), (x) => x, { timeoutMs: 30_000, what: 'owner ready' });
      for (let i = 0; i < 12; i++) {
        const out = await curl(`http://${VIP.dnat}/`);
        assert.match(out, /^be[23] /, out);
      }
    });

    test("a backend's MAC change: once the next-hop map holds it, every new flow reaches the backend", async () => {
      // the owner keeps edgelb_be_nh from netlink; read its pin here (bpffs is shared)
      const n = loadNative();
      const fd = n.objGet(`/sys/fs/bpf/edgelb/${nodeName}/edgelb_be_nh`);
      const macs = () => {
        const out: string[] = [];
        for (let i = 0; i < 64; i++) {
          const v = n.mapLookup(fd, u32Key(i));
          const e = v ? (n.xdpDecode('nh', v) as { dmac?: string }) : {};
          if (e.dmac) out.push(e.dmac);
        }
        return out;
      };
      try {
        const moved = '02:00:00:00:be:22';
        const old = JSON.parse((await lab!.exec('be2', ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0].address as string;
        await waitUntil(() => macs(), (m) => m.includes(old), { timeoutMs: 10_000, what: 'the map to hold be2 before the change' });
        await lab!.ip('be2', ['link', 'set', 'dev', 'eth0', 'address', moved]);
        // what ARP and NDP would tell node1 (the new MAC, reachable)
        await lab!.ip('node1', ['neigh', 'replace', be4(2), 'lladdr', moved, 'dev', 'eth0', 'nud', 'reachable']);
        await lab!.ip('node1', ['-6', 'neigh', 'replace', be6(2), 'lladdr', moved, 'dev', 'eth0', 'nud', 'reachable']);
        await waitUntil(() => macs(), (m) => m.includes(moved) && !m.includes(old), { timeoutMs: 10_000, what: 'the next-hop map to hold the new MAC (no polling in the daemon: a netlink event)' });
        // every new flow is answered: one sent to the old MAC would be dropped by be2's eth0
        const seen = new Set<string>();
        for (let i = 0; i < 16; i++) {
          const out = await curl(`http://${VIP.dnat}/`);
          assert.match(out, /^be[23] /, `connection ${i}: ${out}`);
          seen.add(out.slice(0, 3));
        }
        assert.ok(seen.has('be2'), `some new flows went to be2 (${[...seen].join(', ')})`);
      } finally {
        n.closeFd(fd);
      }
    });
  });
}
