// Multihop BFD (RFC 5883) between the real daemon and real routers across a routed hop: the BGP
// peer is two hops away (node1 - mid - router, mid forwards), eBGP multihop 2 on both sides, so
// the BFD session is multihop: UDP 4784, TTL 255 sent (254 when it reaches the router, which FRR's
// default minimum TTL of 254 accepts), and what the router sends is accepted below 255 (RFC 5883
// has no TTL 255 rule; BIRD sends 64). Against BIRD (`bfd on` on a `multihop 2` BGP protocol,
// `multihop` block in `protocol bfd`) and FRR 8.4 (`ebgp-multihop 2` + `bfd`: bgpd registers a
// multihop session with local-address = its update-source). The sessions come Up with the
// negotiated timers (100 ms x 3); cutting the far link (mid - router; node1's own link stays up)
// takes our BGP session down through BFD, long before the 30 s hold time. The daemon runs the XDP
// data path on eth0, so a multihop session also outlives the daemon (docs/bfd.md "Surviving a
// daemon restart"): kill -9, 5 s away (some 16 detect times), started again: the router's session
// never leaves Up, the VIP's route stays and our packets keep their UDP source port.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab, BirdRouter, FrrRouter, waitUntil, type LabProcess, type LabSpec, type NeighborConfig } from './lib/index.js';
import type { BfdRow, NeighborRow } from '../../src/model/views.js';
import { sampleStates } from './bfd-states.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = [process.execPath, '--single-threaded-gc', `${root}dist/cli/main.js`];
const HOLD = 30;
const NODE = '10.81.1.2';
const MID_NODE = '10.81.1.1';
const MID_ROUTER = '10.81.2.1';
const ROUTER = '10.81.2.2';
const VIP = '192.168.84.10';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** node1 (eth0) - (node1) mid (router) - (eth0) router: the router is one routed hop away. */
function topology(prefix: string): LabSpec {
  return {
    prefix,
    nodes: [
      { name: 'router', role: 'router', routes: [{ to: '10.81.1.0/24', via: MID_ROUTER }] },
      { name: 'mid', role: 'other', forwarding: true },
      { name: 'node1', role: 'node', routes: [{ to: 'default', via: MID_NODE }] },
    ],
    links: [
      { a: { node: 'node1', ifname: 'eth0', addrs: [`${NODE}/24`] }, b: { node: 'mid', ifname: 'node1', addrs: [`${MID_NODE}/24`] } },
      { a: { node: 'mid', ifname: 'router', addrs: [`${MID_ROUTER}/24`] }, b: { node: 'router', ifname: 'eth0', addrs: [`${ROUTER}/24`] } },
    ],
  };
}

const config = `node: { name: edge-1, routerId: ${NODE}, interface: eth0 }
api: { listen: 127.0.0.1:11111 }
bgp:
  asn: 64513
  listenPort: 0
  peers: [{ address: ${ROUTER}, asn: 64512, holdTime: ${HOLD}, connectRetry: 1, ebgpMultihop: 2, bfd: { minRx: 100ms, minTx: 100ms, multiplier: 3 } }]
dataplane: { attachMode: generic, pinRoot: PIN_ROOT }
pools: [{ name: p, cidrs: [192.168.84.0/24], announce: bgp }]
services:
  - { name: svc, vip: ${VIP}, ports: [{ port: 80 }], endpoints: [10.0.0.200] }
`;

/** BFD packets seen on an interface of a lab node: UDP ports and the IP TTL (tcpdump -v). */
async function capture(lab: Lab, node: string, ifname: string, filter: string): Promise<Array<{ src: string; srcPort: number; dstPort: number; ttl: number }>> {
  const r = await lab.exec(node, ['timeout', '3', 'tcpdump', '-l', '-n', '-v', '-i', ifname, '-c', '3', filter], { check: false });
  // "IP (tos 0xc0, ttl 254, id 0, offset 0, flags [DF], proto UDP (17), length 52)\n    10.81.1.2.49321 > 10.81.2.2.4784: BFDv1, ..."
  return [...r.stdout.matchAll(/ttl (\d+),[^\n]*\n\s*([\d.]+)\.(\d+) > [\d.]+\.(\d+):/g)].map((m) => ({ ttl: Number(m[1]), src: m[2]!, srcPort: Number(m[3]), dstPort: Number(m[4]) }));
}

function multihop(kind: 'bird' | 'frr'): void {
  describe(`bfd multihop with ${kind}`, { timeout: 180_000 }, () => {
    let lab: Lab;
    let router: BirdRouter | FrrRouter;
    let daemon: LabProcess;

    const get = async <T>(what: string): Promise<T> => {
      const r = await lab.exec('node1', [...cli, 'get', what, '-o', 'json'], { check: false });
      if (r.code !== 0) throw new Error(`edgelb get ${what}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };
    const ourBfd = async () => (await get<BfdRow[]>('bfd'))[0];
    const ourBgp = async () => (await get<NeighborRow[]>('bgp'))[0];
    const theirBfd = async () => (await router.bfdSessions()).find((s) => s.peer === NODE);
    const theirBgp = async () => (await router.neighbors()).find((n) => n.address === NODE)?.state;
    const bothUp = async () => {
      await waitUntil(async () => (await theirBfd())?.state === 'Up' && (await ourBfd())?.state === 'Up', (ok) => ok, { what: 'BFD Up on both sides', timeoutMs: 40_000, intervalMs: 100 });
      await waitUntil(async () => (await theirBgp()) === 'Established' && (await ourBgp())?.state === 'Established', (ok) => ok, { what: 'BGP Established on both sides', timeoutMs: 30_000, intervalMs: 100 });
    };

    let cfgPath = '';
    const start = async (suffix: string) => {
      daemon = await lab.spawn('node1', [...cli, 'daemon', '--config', cfgPath], { name: `edgelb-bm${kind[0]}${suffix}` });
    };
    /** The UDP source port of our BFD packets as they reach the router (one per session). */
    const portSeen = async (): Promise<number> => {
      const ports = (await capture(lab, 'router', 'eth0', `udp and src host ${NODE} and dst port 4784`)).map((p) => p.srcPort);
      assert.ok(ports.length > 0, 'no BFD packet from the node seen at the router');
      assert.equal(new Set(ports).size, 1, `one source port per session: ${ports.join(', ')}`);
      return ports[0]!;
    };

    before(async () => {
      lab = await Lab.create(topology(kind === 'bird' ? 'bmb' : 'bmf'));
      const neighbor: NeighborConfig = { address: NODE, asn: 64513, localAddress: ROUTER, multihop: 2, holdTime: HOLD, connectRetry: 1, bfd: { minRx: 100, minTx: 100, multiplier: 3 } };
      const opts = { asn: 64512, routerId: ROUTER, neighbors: [neighbor] };
      router = kind === 'bird' ? await BirdRouter.start(lab, 'router', opts) : await FrrRouter.start(lab, 'router', opts);
      const pins = `/sys/fs/bpf/edgelb/${lab.tag}-edge-1`;
      lab.ownPath(pins);
      cfgPath = lab.writeFile('edge.yaml', config.replace('PIN_ROOT', pins));
      await start('');
    });

    after(async () => {
      if (process.exitCode) console.error(lab.logs(40));
      if (daemon?.running) daemon.signal('SIGKILL');
      await lab.exec('node1', ['ip', 'link', 'set', 'dev', 'eth0', 'xdpgeneric', 'off'], { check: false });
      await lab.teardown();
    });

    it('the sessions come Up as multihop on UDP 4784 with the negotiated timers (100 ms x 3); BGP is Established', async () => {
      await bothUp();
      const ours = await waitUntil(ourBfd, (r) => r?.txIntervalMs === 100 && r.detectTimeMs === 300, { what: 'our negotiated timers', timeoutMs: 10_000, intervalMs: 100 });
      assert.equal(ours!.multihop, true);
      assert.equal(ours!.remoteMultiplier, 3);
      const theirs = await waitUntil(theirBfd, (s) => s?.txMs === 100 && s.detectMs === 300, { what: `${kind}'s negotiated timers`, timeoutMs: 10_000, intervalMs: 100 });
      assert.equal(theirs!.state, 'Up');
      if (router instanceof FrrRouter) assert.equal((await router.bfdCounters()).find((c) => c.peer === NODE)?.multihop, true, "bfdd's session is multihop");
      // on the wire: ours reach the router on 4784 from a port in 49152-65535 with TTL 254 (255 sent,
      // one hop); theirs reach us on 4784 with a TTL below 255, and the session is Up all the same
      const toRouter = await capture(lab, 'router', 'eth0', `udp and src host ${NODE}`);
      const toUs = await capture(lab, 'node1', 'eth0', `udp and src host ${ROUTER} and dst port 4784`);
      process.stdout.write(`# multihop with ${kind}: ours at the router ${JSON.stringify(toRouter[0])}, theirs at the node ${JSON.stringify(toUs[0])}\n`);
      assert.ok(toRouter.length > 0 && toUs.length > 0, 'BFD packets both ways');
      for (const p of toRouter) {
        assert.equal(p.dstPort, 4784, 'RFC 5883: multihop to UDP 4784');
        assert.ok(p.srcPort >= 49152 && p.srcPort <= 65535, String(p.srcPort));
        assert.equal(p.ttl, 254, 'TTL 255 sent, one routed hop');
      }
      for (const p of toUs) assert.ok(p.ttl < 255, `the router's packets arrive below TTL 255 (${p.ttl}) and are accepted`);
    });

    it(`cutting the far link (mid - router) takes our BGP session down through BFD, well before the ${HOLD} s hold time`, async () => {
      await bothUp();
      const cutAt = Date.now();
      await lab.linkDown('mid', 'router'); // node1's own link stays up: only silence tells
      const ours = await waitUntil(ourBgp, (n) => n?.state !== 'Established', { what: 'our BGP down', timeoutMs: 15_000, intervalMs: 20 });
      const ourMs = Date.now() - cutAt;
      await waitUntil(theirBfd, (s) => s?.state !== 'Up', { what: `${kind} BFD down`, timeoutMs: 10_000, intervalMs: 50 });
      process.stdout.write(`# multihop with ${kind}: far link cut at 3 x 100 ms: our BGP left Established after ${ourMs} ms (hold time ${HOLD} s)\n`);
      assert.ok(ourMs < 10_000, `${ourMs} ms: not the hold timer`);
      const b = await ourBfd();
      assert.equal(b!.state, 'Down');
      assert.equal(b!.diag, 1, 'control detection time expired');
      assert.match(JSON.stringify(ours!.lastError), /bfd|BFD|cease/i);
      await lab.linkUp('mid', 'router');
      await bothUp();
    });

    it('kill -9 of the daemon, 5 s away, started again: the router\'s multihop session stays Up, the route stays, the source port is the same', async () => {
      await bothUp();
      await router.waitRoute(`${VIP}/32`, () => true, { timeoutMs: 30_000 });
      await sleep(1500); // a window published and the lease renewed
      const frr = router instanceof FrrRouter ? router : undefined;
      const counters = async () => (await frr?.bfdCounters())?.find((c) => c.peer === NODE);
      const before = await counters();
      const ports: { daemon: number; xdp?: number; restarted?: number } = { daemon: await portSeen() };
      daemon.signal('SIGKILL');
      const states = new Set<string>();
      const atKill = await counters();
      await Promise.all([sampleStates(theirBfd, states, 5000), sleep(1500).then(async () => (ports.xdp = await portSeen()))]);
      assert.ok((await router.routes(`${VIP}/32`)).length > 0, 'the route stays while the daemon is away');
      const away = await counters();
      await start('-2');
      await waitUntil(() => daemon.output(), (o) => /BFD thread started/.test(o), { what: 'the new BFD thread', timeoutMs: 30_000, intervalMs: 100 });
      await Promise.all([sampleStates(theirBfd, states, 3000), sleep(1500).then(async () => (ports.restarted = await portSeen()))]);
      const after = await counters();
      process.stdout.write(`# multihop with ${kind}: BFD states across kill -9 + 5 s + restart: ${[...states].join(', ')}; source ports ${JSON.stringify(ports)}${frr ? `; bfdd counters before ${JSON.stringify(before)} at the kill ${JSON.stringify(atKill)} 5 s later ${JSON.stringify(away)} after ${JSON.stringify(after)}` : ''}\n`);
      assert.deepEqual([...states], ['Up'], `${kind}'s multihop BFD session: ${[...states].join(', ')}\n${lab.logs(40)}`);
      assert.ok((await router.routes(`${VIP}/32`)).length > 0, 'the route stays');
      assert.equal(ports.xdp, ports.daemon, 'XDP answers from the session source port');
      assert.equal(ports.restarted, ports.daemon, 'the resumed session sends from its old source port');
      assert.doesNotMatch(daemon.output(), /went Down/, 'the resumed session did not flap');
      const ours = await waitUntil(ourBfd, (r) => r?.state === 'Up', { what: 'our resumed session Up', timeoutMs: 10_000, intervalMs: 100 });
      assert.equal(ours!.multihop, true);
      if (frr) {
        assert.equal(after?.sessionDown, before?.sessionDown, "bfdd's count of Down transitions did not move");
        // 5 s at 100 ms with no daemon: XDP answered each of bfdd's packets (some 50)
        assert.ok(away!.rx - atKill!.rx >= 25, `bfdd received ${away!.rx - atKill!.rx} of our packets while no daemon ran`);
        assert.ok(after!.rx > away!.rx, 'and the resumed daemon sends');
      }
      await bothUp();
    });
  });
}

multihop('bird');
multihop('frr');
