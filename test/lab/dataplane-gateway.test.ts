// Replies toward a client behind the router while the node has no neighbour entry for that router
// (regression: XDP's bpf_fib_lookup answered NO_NEIGH and the reply went to the kernel, which
// drops an IPv6 one without net.ipv6.conf.all.forwarding and forwards an IPv4 one after ARP: the
// first connection after start-up or after the entry went away failed over IPv6). The node
// forwards on its uplink only, as the daemon sets it; the router knows the node's MACs statically,
// so nothing but the data path's managed entries resolves the router on the node. IPv4 and IPv6:
// the first onearm connection after start-up, and the first onearm and fullnat connections after
// `ip neigh flush` of the gateway's entry, succeed, XDP forwards their replies (pass_no_neigh does
// not rise), and the gateway's entry is a managed one; a restart keeps the entries, an uninstall
// removes them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, run, waitUntil, type LabProcess } from './lib/index.js';
import type { DataplaneService } from '../../src/dataplane/types.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = ['node', '--import', 'tsx'];
const NODE = edgePlan.node(1);
const BE = edgePlan.backend(1);
const VIP = { onearm4: '10.200.0.2', onearm6: 'fd00:200::2', fullnat4: '10.200.0.3', fullnat6: 'fd00:200::3' };
/** NUD_VALID as iproute2 prints it (bpf_fib_lookup's test) */
const VALID = ['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP'];

const FAMILIES = [
  { family: 4, gateway: edgePlan.router.lan4, backend: BE.v4, node: NODE.v4, ipFlag: '-4' },
  { family: 6, gateway: edgePlan.router.lan6, backend: BE.v6, node: NODE.v6, ipFlag: '-6' },
] as const;
type Family = (typeof FAMILIES)[number];
const MODES = ['onearm', 'fullnat'] as const;
type Mode = (typeof MODES)[number];
const vipOf = (m: Mode, f: Family) => VIP[`${m}${f.family}`];
const urlOf = (m: Mode, f: Family) => (f.family === 4 ? `http://${vipOf(m, f)}/` : `http://[${vipOf(m, f)}]/`);
/** What be1 answers: its name and the source it saw (onearm: the node's address; fullnat: the VIP). */
const answerOf = (m: Mode, f: Family) => `be1 ${m === 'onearm' ? f.node : vipOf(m, f)}`;

function services(): DataplaneService[] {
  const s = (name: string, vip: string, address: string): DataplaneService => ({
    name,
    vip,
    port: 80,
    protocol: 'tcp',
    mode: 'onearm',
    backends: [{ address, port: 8080 }],
    epSelect: 'maglev',
    timeoutSec: 300,
  });
  return MODES.flatMap((m) => FAMILIES.map((f) => ({ ...s(`${m}${f.family}`, vipOf(m, f), f.backend), mode: m })));
}

describe('replies toward clients behind the router while its neighbour entry on the node is missing', () => {
  let lab: Lab | undefined;
  let owner: LabProcess | undefined;
  const nodeName = `xgw-${process.pid}`;

  /** node1's neighbour entry for addr on its uplink: { state, managed } or undefined. */
  async function neigh(flag: string, addr: string): Promise<{ state: string[]; managed: boolean } | undefined> {
    const r = await lab!.exec('node1', ['ip', flag, '-j', 'neigh', 'show', 'to', addr, 'dev', 'eth0']);
    const rows = (r.stdout.trim() ? JSON.parse(r.stdout) : []) as Array<{ dst: string; state?: string[]; managed?: unknown }>;
    const e = rows.find((x) => x.dst === addr);
    return e ? { state: e.state ?? [], managed: 'managed' in e } : undefined;
  }
  const valid = (e: { state: string[] } | undefined) => !!e && e.state.some((s) => VALID.includes(s));

  /** Give the data path a few seconds to resolve addr (it has a managed entry for it); never fails here. */
  async function settle(flag: string, addr: string): Promise<void> {
    await waitUntil(() => neigh(flag, addr), valid, { timeoutMs: 5000, intervalMs: 50, what: `a valid neighbour entry for ${addr}` }).catch(() => undefined);
  }

  async function passNoNeigh(): Promise<number> {
    const seen = owner!.output().split('\n').filter((l) => l.startsWith('STATS ')).length;
    owner!.signal('SIGUSR2');
    const line = await waitUntil(
      () => owner!.output().split('\n').filter((l) => l.startsWith('STATS ')),
      (ls) => ls.length > seen,
      { timeoutMs: 5000, what: 'stats' },
    );
    const st = JSON.parse(line.at(-1)!.slice(6)) as { counters: Record<string, number> };
    return st.counters.pass_no_neigh ?? 0;
  }

  async function startOwner(): Promise<{ takenOver: boolean }> {
    const p = await lab!.spawn('node1', [...TSX, here('./dataplane-owner.ts'), 'run', JSON.stringify({ nodeName, iface: 'eth0', routerId: NODE.v4, attachMode: 'generic', services: services() })], {
      name: 'owner',
      cwd: ROOT,
    });
    owner = p;
    const line = await waitUntil(
      () => {
        if (!p.running) throw new Error(`owner exited:\n${p.output()}`);
        return p.output().split('\n').find((l) => l.startsWith('READY '));
      },
      (l) => l !== undefined,
      { timeoutMs: 30_000, what: 'dataplane owner ready' },
    );
    return JSON.parse(line!.slice('READY '.length)) as { takenOver: boolean };
  }

  /** One connection, one try (curl gives up after 3 s: the client's SYN retransmission is not a second chance). */
  async function connectOnce(url: string): Promise<string> {
    const r = await lab!.exec('client', ['curl', '-s', '--max-time', '3', url], { check: false });
    return r.stdout.trim();
  }

  before(async () => {
    await run(['make', '-s', '-C', ROOT, 'build/bpf/edgelb_xdp.bpf.o']);
    lab = await Lab.create(edgeTopology({ prefix: 'xgw', nodes: 1, backends: 1, client: true }));
    // the node forwards on its uplink only (what the daemon sets), never host-wide
    await lab.sysctl('node1', { 'net.ipv4.conf.eth0.forwarding': 1, 'net.ipv6.conf.eth0.forwarding': 1 });
    await lab.addRoute('router', { to: '10.200.0.0/24', via: NODE.v4 });
    await lab.addRoute('router', { to: 'fd00:200::/64', via: NODE.v6 });
    // fullnat: be1 answers the VIP, through node1
    await lab.addRoute(BE.name, { to: '10.200.0.0/24', via: NODE.v4 });
    await lab.addRoute(BE.name, { to: 'fd00:200::/64', via: NODE.v6 });
    // the router knows node1 statically: it never asks node1 (which would teach node1 its MAC)
    const mac = JSON.parse((await lab.exec('node1', ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0].address as string;
    for (const a of [NODE.v4, NODE.v6]) await lab.ip('router', ['neigh', 'replace', a, 'lladdr', mac, 'dev', edgePlan.router.bridge, 'nud', 'permanent']);
    await lab.txOffloadOff(BE.name, 'eth0');
    const srv = await lab.spawn(BE.name, [...TSX, here('./dataplane-backend.ts'), BE.name], { name: 'srv-be1', cwd: ROOT });
    await waitUntil(() => srv.output().includes('LISTENING'), (x) => x, { timeoutMs: 20_000, what: 'be1 listening' });
    await lab.ip('node1', ['neigh', 'flush', 'dev', 'eth0']);
    await lab.ip('node1', ['-6', 'neigh', 'flush', 'dev', 'eth0']);
    for (const f of FAMILIES) assert.equal(await neigh(f.ipFlag, f.gateway), undefined, `no entry for ${f.gateway} before the data path starts`);
    const opened = await startOwner();
    assert.equal(opened.takenOver, false);
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

  for (const f of FAMILIES) {
    test(`IPv${f.family} onearm: the first connection after start-up succeeds and XDP forwards its replies toward the gateway`, async () => {
      await settle(f.ipFlag, f.backend); // the backend's managed entry (not what this test is about)
      await settle(f.ipFlag, f.gateway);
      const before = await passNoNeigh();
      const out = await connectOnce(urlOf('onearm', f));
      assert.equal(out, answerOf('onearm', f), 'answered on the first try');
      assert.equal(await passNoNeigh(), before, 'no reply was handed to the kernel for want of a neighbour');
      const e = await neigh(f.ipFlag, f.gateway);
      assert.ok(e?.managed, `the gateway's entry is managed: ${JSON.stringify(e)}`);
    });
  }

  for (const m of MODES) for (const f of FAMILIES) {
    test(`IPv${f.family} ${m}: after ip neigh flush of the gateway's entry, a new connection succeeds on the first try`, async () => {
      await lab!.ip('node1', [f.ipFlag, 'neigh', 'flush', 'to', f.gateway, 'dev', 'eth0']);
      const start = Date.now();
      await settle(f.ipFlag, f.gateway);
      const restoredMs = Date.now() - start;
      const before = await passNoNeigh();
      const out = await connectOnce(urlOf(m, f));
      assert.equal(out, answerOf(m, f), 'answered on the first try');
      assert.equal(await passNoNeigh(), before, 'no reply was handed to the kernel for want of a neighbour');
      const e = await neigh(f.ipFlag, f.gateway);
      assert.ok(e?.managed && valid(e), `the gateway's entry is managed and valid again: ${JSON.stringify(e)}`);
      console.log(`# IPv${f.family} ${m}: the gateway's entry valid again ${restoredMs} ms after the flush (polled every 50 ms)`);
    });
  }

  test("a restart leaves the gateways' managed entries for the next daemon, which takes them over; an uninstall removes them", async () => {
    // SIGTERM: the owner leaves the data path in place (a hitless restart)
    owner!.signal('SIGTERM');
    await owner!.exited;
    for (const f of FAMILIES) assert.ok((await neigh(f.ipFlag, f.gateway))?.managed, `${f.gateway} kept for the next daemon`);
    const opened = await startOwner();
    assert.equal(opened.takenOver, true);
    const before = await passNoNeigh();
    for (const m of MODES) for (const f of FAMILIES) assert.equal(await connectOnce(urlOf(m, f)), answerOf(m, f));
    assert.equal(await passNoNeigh(), before);
    // SIGUSR1: close({ detach: true }), as an uninstall
    owner!.signal('SIGUSR1');
    await owner!.exited;
    assert.match(owner!.output(), /DETACHED/);
    for (const f of FAMILIES) assert.ok(!(await neigh(f.ipFlag, f.gateway))?.managed, `${f.gateway} no longer managed`);
  });
});
