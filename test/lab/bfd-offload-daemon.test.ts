// BFD that outlives the real daemon (issue #15, docs/bfd.md "Surviving a daemon restart"): the
// daemon runs the XDP data path on eth0 with BFD on for its router peer at 3 x 100 ms (BIRD without
// and with meticulous keyed SHA-1, FRR 8.4's bfdd without auth); kill -9, 5 s without it, the same
// daemon started again: the router's BFD session never leaves Up (XDP answered from the frames
// the daemon published, the new daemon resumed from the pinned table) and the route stays (BGP
// graceful restart covers the TCP session). With FRR also: bfdd's count of Down transitions does
// not move, the UDP source port FRR sees (on its wire) is the one the session had before, and a
// power cut (the daemon killed, then the node's link down) still makes FRR drop the route.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, BirdRouter, FrrRouter, waitUntil, type LabProcess, type NeighborConfig } from './lib/index.js';
import { sampleStates } from './bfd-states.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = [process.execPath, '--single-threaded-gc', `${root}dist/cli/main.js`];
const R = edgePlan.router;
const N = edgePlan.node(1);
const KEY = 'bfd-lab-key-0123';
const VIP = '192.168.83.10';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = 'bird' | 'bird-sha1' | 'frr';

function config(auth: boolean, keyFile: string, pinRoot: string): string {
  const bfd = `{ minRx: 100ms, minTx: 100ms, multiplier: 3${auth ? `, auth: { type: meticulous-keyed-sha1, keyId: 7, keyFile: ${keyFile} }` : ''} }`;
  return `node: { name: edge-1, routerId: ${N.v4}, interface: eth0 }
api: { listen: 127.0.0.1:11113 }
bgp:
  asn: 64513
  listenPort: 0
  peers: [{ address: ${R.lan4}, asn: 64512, holdTime: 30, connectRetry: 1, bfd: ${bfd} }]
dataplane: { attachMode: generic, pinRoot: ${pinRoot} }
pools: [{ name: p, cidrs: [192.168.83.0/24], announce: bgp }]
services:
  - { name: svc, vip: ${VIP}, ports: [{ port: 80 }], endpoints: [10.0.0.200] }
`;
}

function scenario(kind: Kind): void {
  const auth = kind === 'bird-sha1';
  const name = kind === 'frr' ? 'frr' : 'bird';
  describe(`bfd offload by the daemon with ${name}${auth ? ' (meticulous keyed SHA-1)' : ''}`, { timeout: 180_000 }, () => {
    let lab: Lab;
    let router: BirdRouter | FrrRouter;
    let daemon: LabProcess;
    let cfgPath: string;
    const tag = { bird: 'n', 'bird-sha1': 'a', frr: 'f' }[kind];
    const theirBfd = async () => (await router.bfdSessions()).find((s) => s.peer === N.v4);
    const start = async (suffix: string) => {
      daemon = await lab.spawn('node1', [...cli, 'daemon', '--config', cfgPath], { name: `edgelb-bd${tag}${suffix}` });
    };
    /** The UDP source port of the BFD packets from the node, as they reach the router's port. */
    const portSeen = async (): Promise<number | undefined> => {
      const r = await lab.exec('router', ['timeout', '3', 'tcpdump', '-l', '-n', '-i', 'node1', '-c', '3', `udp and src host ${N.v4} and dst port 3784`], { check: false });
      const ports = [...r.stdout.matchAll(new RegExp(`${N.v4.replace(/\./g, '\\.')}\\.(\\d+) >`, 'g'))].map((m) => Number(m[1]));
      assert.ok(ports.length > 0, `no BFD packet from the node seen on the router's port: ${r.stdout}${r.stderr}`);
      assert.equal(new Set(ports).size, 1, `one source port per session: ${ports.join(', ')}`);
      return ports[0];
    };

    before(async () => {
      lab = await Lab.create(edgeTopology({ prefix: `bd${tag}`, nodes: 1, backends: 1, client: false }));
      const neighbor: NeighborConfig = {
        address: N.v4,
        asn: 64513,
        holdTime: 30,
        connectRetry: 1,
        bfd: { minRx: 100, minTx: 100, multiplier: 3, ...(auth ? { auth: { type: 'meticulous-keyed-sha1' as const, keyId: 7, key: KEY } } : {}) },
      };
      const opts = { asn: 64512, routerId: R.lan4, neighbors: [neighbor] };
      router = kind === 'frr' ? await FrrRouter.start(lab, 'router', opts) : await BirdRouter.start(lab, 'router', opts);
      const pins = `/sys/fs/bpf/edgelb/${lab.tag}-edge-1`;
      lab.ownPath(pins);
      cfgPath = lab.writeFile('edge.yaml', config(auth, lab.writeFile('bfd.key', `${KEY}\n`), pins));
      await start('');
    });

    after(async () => {
      if (process.exitCode) console.error(lab.logs(60));
      if (daemon?.running) daemon.signal('SIGKILL');
      await lab.exec('node1', ['ip', 'link', 'set', 'dev', 'eth0', 'xdpgeneric', 'off'], { check: false });
      await lab.teardown();
    });

    /**
     * kill -9, 5 s away, the same daemon started again (`squat`: something else holds the session's
     * source port meanwhile); the router's BFD states sampled throughout, and with FRR the source
     * port on its wire before, while XDP answers and after, and bfdd's counters before and after.
     */
    const killAndRestart = async (suffix: string, squat = false) => {
      await waitUntil(theirBfd, (s) => s?.state === 'Up', { what: `${name} BFD Up`, timeoutMs: 30_000, intervalMs: 100 });
      await router.waitRoute(`${VIP}/32`, () => true, { timeoutMs: 30_000 });
      await sleep(1500); // a window published and the lease renewed
      const frr = router instanceof FrrRouter ? router : undefined;
      const counters = async () => (await frr?.bfdCounters())?.find((c) => c.peer === N.v4);
      const before = await counters();
      const ports: { daemon?: number; xdp?: number; restarted?: number } = { daemon: frr && (await portSeen()) };
      daemon.signal('SIGKILL');
      const states = new Set<string>();
      await Promise.all([sampleStates(theirBfd, states, 5000), frr && sleep(1500).then(async () => (ports.xdp = await portSeen()))]);
      assert.ok((await router.routes(`${VIP}/32`)).length > 0, 'the route stays while the daemon is away');
      let squatter: LabProcess | undefined;
      if (squat) {
        squatter = await lab.spawn('node1', [process.execPath, '-e', `require('node:dgram').createSocket('udp4').bind(${ports.daemon}, () => console.log('bound'))`], { name: `squat${suffix}` });
        await waitUntil(() => squatter!.output(), (o) => /bound/.test(o), { what: 'the squatter bound', timeoutMs: 10_000, intervalMs: 50 });
      }
      await start(suffix);
      await waitUntil(() => daemon.output(), (o) => /BFD thread started/.test(o), { what: 'the new BFD thread', timeoutMs: 30_000, intervalMs: 100 });
      await Promise.all([sampleStates(theirBfd, states, 3000), frr && sleep(1500).then(async () => (ports.restarted = await portSeen()))]);
      squatter?.signal('SIGKILL');
      const after = await counters();
      process.stdout.write(`# daemon${auth ? ' sha1' : ''} with ${name}${squat ? ' (old port taken)' : ''}: BFD states across kill -9 + 5 s + restart: ${[...states].join(', ')}${frr ? `; source ports ${JSON.stringify(ports)}; bfdd counters before ${JSON.stringify(before)} after ${JSON.stringify(after)}` : ''}\n`);
      assert.deepEqual([...states], ['Up'], `${name}'s BFD session: ${[...states].join(', ')}\n${lab.logs(40)}`);
      assert.ok((await router.routes(`${VIP}/32`)).length > 0, 'the route stays');
      assert.doesNotMatch(daemon.output(), /went Down/, 'the resumed session did not flap');
      if (frr) {
        assert.equal(after?.sessionDown, before?.sessionDown, "bfdd's count of Down transitions did not move");
        assert.equal(after?.sessionUp, before?.sessionUp);
        assert.ok(after!.rx > before!.rx, 'bfdd kept receiving our packets');
        for (const p of Object.values(ports)) assert.ok(p! >= 49152 && p! <= 65535, `RFC 5881 source port range: ${p}`);
        assert.equal(ports.xdp, ports.daemon, 'XDP answers from the session source port');
      }
      return ports;
    };

    it(`kill -9 of the daemon, 5 s away, started again: ${name} stays Up and keeps the route`, async () => {
      const ports = await killAndRestart('-2');
      // RFC 5881 section 4: the same source port for every packet of the session
      if (kind === 'frr') assert.equal(ports.restarted, ports.daemon, 'the resumed session sends from its old source port');
    });

    if (kind === 'frr') {
      it('the old source port taken: the new daemon sends from another one and FRR stays Up (bfdd does not tie a session to the port)', async () => {
        const ports = await killAndRestart('-3', true);
        assert.notEqual(ports.restarted, ports.daemon);
      });

      // A power cut sends nothing: the link goes first, so the daemon's death cannot close its BGP
      // TCP session with a FIN (that would start FRR's graceful-restart helper mode, where a BFD
      // Down leaves the stale routes to the restart timer: docs/bfd.md), and XDP dies with the node.
      it('power cut (the link down, then the daemon killed): FRR drops the route', async () => {
        await waitUntil(theirBfd, (s) => s?.state === 'Up', { what: 'FRR BFD Up', timeoutMs: 30_000, intervalMs: 100 });
        await router.waitRoute(`${VIP}/32`, () => true, { timeoutMs: 30_000 });
        const cutAt = Date.now();
        await lab.linkDown('router', 'node1');
        daemon.signal('SIGKILL');
        await waitUntil(theirBfd, (s) => s?.state !== 'Up', { what: 'FRR BFD down after the cut', timeoutMs: 10_000, intervalMs: 50 });
        const bfdMs = Date.now() - cutAt;
        await waitUntil(async () => (await router.routes(`${VIP}/32`)).length, (n) => n === 0, { what: 'FRR drops the route', timeoutMs: 10_000, intervalMs: 50 });
        process.stdout.write(`# frr power cut at 3 x 100 ms: BFD down after ${bfdMs} ms, route gone after ${Date.now() - cutAt} ms (hold time 30 s)\n`);
        await lab.linkUp('router', 'node1');
      });
    }
  });
}

scenario('bird');
scenario('bird-sha1');
scenario('frr');
