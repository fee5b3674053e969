// XDP data path under what the Internet sends, with real traffic: client namespace -> router ->
// onearm VIP on node1 (generic XDP) -> two backends. A ping to the VIP is answered by the node
// (the router forwards the request and the reply, nothing more: no loop); a SYN to an unserved
// port of the VIP is dropped (no loop); fragmented UDP reaches a backend and its fragmented reply
// comes back; and a bounded SYN burst from one client address (20,000 SYNs in 10 s, random
// source ports, answers never acknowledged) does not stop 200 connections from other addresses
// during it and 50 after it (at least 99% succeed). Short and bounded (about a minute).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, run, waitUntil, type LabProcess } from './lib/index.js';
import type { DataplaneService } from '../../src/dataplane/types.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = ['node', '--import', 'tsx'];
const NODE4 = edgePlan.node(1).v4;
const VIP = '10.200.0.2';
const ATTACKER = '10.100.0.250'; // configured nowhere: the answers to its SYNs die at the router
const LEGIT = Array.from({ length: 20 }, (_, i) => `10.100.0.${10 + i}`);
const FLOOD = { count: 20_000, seconds: 10 };

describe('XDP data path lab: SYN burst, ping, unserved port, fragments', () => {
  let lab: Lab | undefined;
  let owner: LabProcess | undefined;
  const nodeName = `xdpf-${process.pid}`;

  const list = (port: number) => [1, 2].map((j) => ({ address: edgePlan.backend(j).v4, port }));
  const svc = (name: string, port: number, protocol: 'tcp' | 'udp', target: number): DataplaneService => ({ name, vip: VIP, port, protocol, mode: 'onearm', backends: list(target), epSelect: 'maglev', timeoutSec: 300 });

  async function stats(): Promise<{ counters: Record<string, number>; conntrackEntries: number }> {
    const n = owner!.output().split('\n').filter((l) => l.startsWith('STATS ')).length;
    owner!.signal('SIGUSR2');
    const line = await waitUntil(() => owner!.output().split('\n').filter((l) => l.startsWith('STATS ')), (l) => l.length > n, { timeoutMs: 5000, what: 'stats' });
    return JSON.parse(line.at(-1)!.slice(6)) as { counters: Record<string, number>; conntrackEntries: number };
  }

  /** Datagrams the router forwarded so far (Ip: ForwDatagrams of its namespace). */
  async function forwarded(): Promise<number> {
    const snmp = (await lab!.exec('router', ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Ip:'));
    const names = snmp[0]!.split(/\s+/);
    return Number(snmp[1]!.split(/\s+/)[names.indexOf('ForwDatagrams')]);
  }

  /** n HTTP requests to the VIP from the legitimate addresses in turn: how many got a backend's answer. */
  async function legit(n: number): Promise<number> {
    const script = `ok=0; i=0; while [ $i -lt ${n} ]; do a=10.100.0.$((10 + i % ${LEGIT.length})); curl -s --max-time 3 --interface $a http://${VIP}/ | grep -q '^be' && ok=$((ok+1)); i=$((i+1)); done; echo OK $ok`;
    const r = await lab!.exec('client', ['sh', '-c', script], { check: false });
    return Number(/OK (\d+)/.exec(r.stdout)?.[1] ?? 0);
  }

  before(async () => {
    await run(['make', '-s', '-C', ROOT, 'build/bpf/edgelb_xdp.bpf.o', 'build/bpf/ct_count.bpf.o']);
    lab = await Lab.create(edgeTopology({ prefix: 'xdf', nodes: 1, backends: 2, client: true }));
    await lab.sysctl('node1', { 'net.ipv4.ip_forward': 1 });
    await lab.addRoute('router', { to: '10.200.0.0/24', via: NODE4 });
    for (const a of LEGIT) await lab.ip('client', ['addr', 'add', `${a}/24`, 'dev', 'eth0']);
    for (const j of [1, 2]) {
      const b = `be${j}`;
      await lab.txOffloadOff(b, 'eth0');
      const srv = await lab.spawn(b, [...TSX, here('./dataplane-backend.ts'), b], { name: `srv-${b}`, cwd: ROOT });
      await waitUntil(() => srv.output().includes('LISTENING'), (x) => x, { timeoutMs: 20_000, what: `${b} listening` });
    }
    const args = { nodeName, iface: 'eth0', routerId: NODE4, attachMode: 'generic', services: [svc('web', 80, 'tcp', 8080), svc('dns', 53, 'udp', 5353)] };
    owner = await lab.spawn('node1', [...TSX, here('./dataplane-owner.ts'), 'run', JSON.stringify(args)], { name: 'owner', cwd: ROOT });
    await waitUntil(() => owner!.output().includes('READY '), (x) => x, { timeoutMs: 30_000, what: 'owner ready' });
    await lab.exec('node1', ['ping', '-c1', '-W2', edgePlan.router.lan4]);
  });

  after(async () => {
    try {
      if (lab) await lab.exec('node1', [...TSX, here('./dataplane-owner.ts'), 'cleanup', JSON.stringify({ nodeName, iface: 'eth0' })], { check: false, cwd: ROOT });
    } finally {
      await lab?.teardown();
      const pins = `/sys/fs/bpf/edgelb/${nodeName}`;
      if (existsSync(pins)) rmSync(pins, { recursive: true, force: true });
    }
  });

  test('a ping to the VIP is answered by the node; the router forwards only the requests and the replies', async () => {
    const f0 = await forwarded();
    const r = await lab!.exec('client', ['ping', '-c', '3', '-i', '0.2', '-W', '2', VIP], { check: false });
    assert.match(r.stdout, /3 received/, r.stdout);
    assert.match(r.stdout, new RegExp(`from ${VIP.replace(/\./g, '\\.')}`));
    const f1 = await forwarded();
    assert.ok(f1 - f0 <= 6 + 2, `the router forwarded ${f1 - f0} datagrams for 3 pings (a loop would be ~64 per ping)`);
    assert.ok((await stats()).counters.tx_echo! >= 3);
  });

  test('a SYN to an unserved port of the VIP is dropped by the node, no loop', async () => {
    const f0 = await forwarded();
    const r = await lab!.exec('client', ['curl', '-s', '--max-time', '2', `http://${VIP}:22/`], { check: false });
    assert.notEqual(r.code, 0);
    const f1 = await forwarded();
    assert.ok(f1 - f0 <= 4, `the router forwarded ${f1 - f0} datagrams for one connection attempt (SYN and retries)`);
    assert.ok((await stats()).counters.drop_vip_no_svc! >= 1);
  });

  test('fragmented UDP reaches a backend and its fragmented answer comes back', async () => {
    const payload = 'x'.repeat(3000);
    const r = await lab!.exec('client', ['sh', '-c', `printf '%s' ${payload} | socat -t3 - UDP4:${VIP}:53`], { check: false });
    const [name, addr, body] = r.stdout.split(' ');
    assert.ok(name?.startsWith('be'), `answer ${JSON.stringify(r.stdout.slice(0, 80))} ${r.stderr}`);
    assert.equal(addr, NODE4, 'onearm: the backend saw the node');
    assert.equal(body, payload, 'the whole datagram went and came back');
    assert.ok((await stats()).counters.frag_tracked! >= 2, 'both directions were fragmented');
  });

  test(`a SYN burst from one address (${FLOOD.count} in ${FLOOD.seconds} s) does not stop others: at least 99% of 200 connections during it and 50 after it succeed`, async (t) => {
    const mac = JSON.parse((await lab!.exec('router', ['ip', '-j', 'link', 'show', edgePlan.router.clientIf])).stdout)[0].address as string;
    const flood = await lab!.spawn('client', [...TSX, here('./dataplane-synflood.ts'), 'eth0', mac, ATTACKER, VIP, '80', String(FLOOD.count), String(FLOOD.seconds)], { name: 'flood', cwd: ROOT });
    await new Promise((r) => setTimeout(r, 2000));
    const during = await legit(200);
    await flood.exited;
    const sent = /SENT (\d+) (\d+)/.exec(flood.output());
    assert.ok(sent, `flood output: ${flood.output()}`);
    const after = await legit(50);
    const st = await stats();
    t.diagnostic(`burst ${sent[1]} SYNs in ${sent[2]} ms; legitimate ${during}/200 during, ${after}/50 after; drop_snat_share ${st.counters.drop_snat_share}, drop_nat_ports ${st.counters.drop_nat_ports}, conntrack ${st.conntrackEntries}`);
    assert.equal(Number(sent[1]), FLOOD.count);
    assert.ok(during >= 198, `${during}/200 legitimate connections during the burst`);
    assert.ok(after >= 50 - 0, `${after}/50 after the burst`);
    assert.ok(st.counters.drop_snat_share! > 0, 'the burst hit its fair share');
    assert.equal(st.counters.drop_nat_ports, 0, 'no one else ran out of ports');
  });
});
