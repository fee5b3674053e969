// BFD that outlives its process (docs/bfd.md, "Surviving a daemon restart"), against BIRD's
// `protocol bfd` at 3 x 100 ms, without and with meticulous keyed SHA-1. The BFD side runs in
// bfd-offload-child.ts (the daemon's engine wired to the XDP offload as the daemon will be); the
// real daemon speaks BGP beside it (its own BFD off). kill -9 of the BFD process, 5 s without
// it, a new one resumes from the pinned table: BIRD's BFD session never leaves Up and the route
// stays. Then the XDP program's lease is the only thing answering: a cut link (no router
// packets) still ends the session, as a power cut would.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, BirdRouter, waitUntil, type LabProcess, type NeighborConfig } from './lib/index.js';
import { sampleStates } from './bfd-states.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = [process.execPath, '--single-threaded-gc', `${root}dist/cli/main.js`];
const child = [process.execPath, '--import', 'tsx', `${root}test/lab/bfd-offload-child.ts`];
const R = edgePlan.router;
const N = edgePlan.node(1);
const KEY = 'bfd-lab-key-0123';
const VIP = '192.168.82.10';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(): string {
  return `node: { name: edge-1, routerId: ${N.v4}, interface: eth0 }
api: { listen: 127.0.0.1:11112 }
bgp:
  asn: 64513
  listenPort: 0
  peers: [{ address: ${R.lan4}, asn: 64512, holdTime: 30, connectRetry: 1 }]
dataplane: { enabled: false }
pools: [{ name: p, cidrs: [192.168.82.0/24], announce: bgp }]
services:
  - { name: svc, vip: ${VIP}, ports: [{ port: 80 }], endpoints: [10.0.0.200] }
`;
}

function scenario(auth: boolean): void {
  describe(`bfd offload with bird${auth ? ' (meticulous keyed SHA-1)' : ''}`, { timeout: 180_000 }, () => {
    let lab: Lab;
    let router: BirdRouter;
    let daemon: LabProcess;
    let bfd: LabProcess;
    const nodeName = `bfdx${auth ? 'a' : 'n'}${process.pid}`;
    const theirBfd = async () => (await router.bfdSessions()).find((s) => s.peer === N.v4);
    const startBfd = async (tag: string) => {
      bfd = await lab.spawn('node1', [...child, nodeName, R.lan4, N.v4, auth ? KEY : '-'], { name: `bfdx-${auth ? 'auth' : 'none'}${tag}` });
    };

    before(async () => {
      lab = await Lab.create(edgeTopology({ prefix: auth ? 'bxa' : 'bxn', nodes: 1, backends: 1, client: false }));
      const neighbor: NeighborConfig = {
        address: N.v4,
        asn: 64513,
        holdTime: 30,
        connectRetry: 1,
        bfd: { minRx: 100, minTx: 100, multiplier: 3, ...(auth ? { auth: { type: 'meticulous-keyed-sha1' as const, keyId: 7, key: KEY } } : {}) },
      };
      router = await BirdRouter.start(lab, 'router', { asn: 64512, routerId: R.lan4, neighbors: [neighbor] });
      daemon = await lab.spawn('node1', [...cli, 'daemon', '--config', lab.writeFile('edge.yaml', config())], { name: `edgelb-bx${auth ? 'a' : 'n'}` });
      await startBfd('');
    });

    after(async () => {
      if (process.exitCode) console.error(lab.logs(60));
      for (const p of [bfd, daemon]) if (p?.running) p.signal('SIGKILL');
      // the XDP program and its pins: a last child run is not needed, the namespace goes with the lab
      await lab.exec('node1', ['ip', 'link', 'set', 'dev', 'eth0', 'xdpgeneric', 'off'], { check: false });
      await lab.exec('node1', ['rm', '-rf', `/sys/fs/bpf/edgelb/${nodeName}`], { check: false });
      await lab.teardown();
    });

    it('kill -9 of the BFD process, 5 s away, a new one resumes: BIRD stays Up and keeps the route', async () => {
      await waitUntil(theirBfd, (s) => s?.state === 'Up', { what: 'BIRD BFD Up', timeoutMs: 30_000, intervalMs: 100 });
      await router.waitRoute(`${VIP}/32`, () => true, { timeoutMs: 30_000 });
      await sleep(1500); // a window published and the lease renewed
      bfd.signal('SIGKILL');
      const states = new Set<string>();
      await sampleStates(theirBfd, states, 5000);
      await startBfd('-2');
      await sampleStates(theirBfd, states, 3000);
      const out = bfd.output();
      process.stdout.write(`# bird${auth ? ' sha1' : ''}: BFD states seen across kill -9 + 5 s + restart: ${[...states].join(', ')}\n`);
      assert.deepEqual([...states], ['Up'], `BIRD's BFD session: ${[...states].join(', ')}\n${lab.logs(40)}`);
      assert.match(out, /resume=\[\{"localDiscr"/, 'the new process resumed from the table');
      assert.ok((await router.routes(`${VIP}/32`)).length > 0, 'the route stays');
      await waitUntil(() => bfd.output(), (o) => /view Up/.test(o), { what: 'the resumed session Up', timeoutMs: 5000, intervalMs: 100 });
      assert.doesNotMatch(bfd.output(), /change Up -> Down/);
    });

    it('with the process dead, a cut link still ends the session: XDP only answers the router', async () => {
      bfd.signal('SIGKILL');
      await sleep(1000);
      assert.equal((await theirBfd())?.state, 'Up', 'answered from XDP');
      await lab.linkDown('router', 'node1');
      await waitUntil(theirBfd, (s) => s?.state !== 'Up', { what: 'BIRD BFD down after the cut', timeoutMs: 10_000, intervalMs: 50 });
      await lab.linkUp('router', 'node1');
    });
  });
}

scenario(false);
scenario(true);
