// BFD that outlives the real daemon (issue #15, docs/bfd.md "Surviving a daemon restart"): the
// daemon runs the XDP data path on eth0 with BFD on for its BIRD peer (3 x 100 ms, without and
// with meticulous keyed SHA-1); kill -9, 5 s without it, the same daemon started again: BIRD's BFD
// session never leaves Up (XDP answered from the frames the daemon published, the new daemon
// resumed from the pinned table) and the route stays (BGP graceful restart covers the TCP session).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, BirdRouter, waitUntil, type LabProcess, type NeighborConfig } from './lib/index.js';
import { sampleStates } from './bfd-states.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = [process.execPath, '--single-threaded-gc', `${root}dist/cli/main.js`];
const R = edgePlan.router;
const N = edgePlan.node(1);
const KEY = 'bfd-lab-key-0123';
const VIP = '192.168.83.10';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

function scenario(auth: boolean): void {
  describe(`bfd offload by the daemon with bird${auth ? ' (meticulous keyed SHA-1)' : ''}`, { timeout: 180_000 }, () => {
    let lab: Lab;
    let router: BirdRouter;
    let daemon: LabProcess;
    let cfgPath: string;
    const theirBfd = async () => (await router.bfdSessions()).find((s) => s.peer === N.v4);
    const start = async (tag: string) => {
      daemon = await lab.spawn('node1', [...cli, 'daemon', '--config', cfgPath], { name: `edgelb-bd${auth ? 'a' : 'n'}${tag}` });
    };

    before(async () => {
      lab = await Lab.create(edgeTopology({ prefix: auth ? 'bda' : 'bdn', nodes: 1, backends: 1, client: false }));
      const neighbor: NeighborConfig = {
        address: N.v4,
        asn: 64513,
        holdTime: 30,
        connectRetry: 1,
        bfd: { minRx: 100, minTx: 100, multiplier: 3, ...(auth ? { auth: { type: 'meticulous-keyed-sha1' as const, keyId: 7, key: KEY } } : {}) },
      };
      router = await BirdRouter.start(lab, 'router', { asn: 64512, routerId: R.lan4, neighbors: [neighbor] });
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

    it('kill -9 of the daemon, 5 s away, started again: BIRD stays Up and keeps the route', async () => {
      await waitUntil(theirBfd, (s) => s?.state === 'Up', { what: 'BIRD BFD Up', timeoutMs: 30_000, intervalMs: 100 });
      await router.waitRoute(`${VIP}/32`, () => true, { timeoutMs: 30_000 });
      await sleep(1500); // a window published and the lease renewed
      daemon.signal('SIGKILL');
      const states = new Set<string>();
      await sampleStates(theirBfd, states, 5000);
      assert.ok((await router.routes(`${VIP}/32`)).length > 0, 'the route stays while the daemon is away');
      await start('-2');
      await waitUntil(() => daemon.output(), (o) => /BFD thread started/.test(o), { what: 'the new BFD thread', timeoutMs: 30_000, intervalMs: 100 });
      await sampleStates(theirBfd, states, 3000);
      process.stdout.write(`# daemon${auth ? ' sha1' : ''}: BIRD BFD states across kill -9 + 5 s + restart: ${[...states].join(', ')}\n`);
      assert.deepEqual([...states], ['Up'], `BIRD's BFD session: ${[...states].join(', ')}\n${lab.logs(40)}`);
      assert.ok((await router.routes(`${VIP}/32`)).length > 0, 'the route stays');
      assert.doesNotMatch(daemon.output(), /went Down/, 'the resumed session did not flap');
    });
  });
}

scenario(false);
scenario(true);
