// Lab: real BGP connection collisions (RFC 4271 §6.8) between our BgpSpeaker and BIRD / FRR.
// Both ends are active on port 179 with a 1 s connect retry. Each round makes both ends open a
// connection to the other at once: with the router's BGP process frozen (SIGSTOP) our session is
// reset and connects (the router's kernel completes the handshake into its listen backlog, our OPEN
// waits there); then our process is frozen and the router thawed: it drops the old session and
// connects to us (our kernel completes that one). When our process is thawed, each side holds an
// outgoing and an incoming connection, both with OPENs: a collision both sides must resolve.
// 20 rounds per router; at least 5 collisions seen from our side ('connection collision' in our
// log), and after every round exactly one Established session on each side and one TCP connection.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, edgeTopology, edgePlan, BirdRouter, FrrRouter, type BgpRouter, type LabProcess } from './lib/index.js';
import { EdgeNode, peerSpec } from './bgp-node.js';

const R = edgePlan.router;
const N = edgePlan.node(1);
const ROUTER_ASN = 64512;
const NODE_ASN = 4200000001;
const ROUNDS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await probe();
  while (!ok(v)) {
    if (Date.now() > deadline) assert.fail(`${what}: last seen ${JSON.stringify(v)}`);
    await sleep(50);
    v = await probe();
  }
  return v;
}

type Kind = 'bird' | 'frr';

function collisions(kind: Kind): void {
  describe(`bgp connection collisions with ${kind}`, () => {
    let lab: Lab;
    let router: BgpRouter;
    let node: EdgeNode;
    let bgpProc: LabProcess;
    const peer = (hold: number) => peerSpec(R.lan4, ROUTER_ASN, { localAddress: N.v4, holdTime: hold, connectRetry: 1, idleHold: 1, families: ['ipv4'], gracefulRestart: false });

    /** Established TCP connections on port 179 in a node's namespace: [local port, remote port]. */
    async function bgpConns(ns: string): Promise<string[]> {
      const out = (await lab.exec(ns, ['ss', '-tnH', 'state', 'established', '( sport = :179 or dport = :179 )'])).stdout;
      return out.split('\n').filter((l) => l.trim());
    }
    /**
     * Collisions our session saw (it held two connections to the router at once): both had OPENs
     * and the router ids decided here ('connection collision'); the router decided first and closed
     * one of them ('connection lost during a collision'); or the second one arrived once the session
     * was Established and was closed with Cease/Connection Collision Resolution (§6.8).
     */
    const collisionCount = () => {
      const out = node.proc.output();
      return {
        byId: (out.match(/"msg":"connection collision"/g) ?? []).length,
        byRouter: (out.match(/"msg":"connection lost during a collision/g) ?? []).length,
        vsEstablished: (out.match(/"reason":"collision"[^\n]*"msg":"closing incoming connection: session in Established"/g) ?? []).length,
      };
    };

    before(async () => {
      lab = await Lab.create(edgeTopology({ prefix: kind === 'bird' ? 'bcb' : 'bcf', nodes: 1, client: false }));
      const opts = { asn: ROUTER_ASN, routerId: R.lan4, neighbors: [{ address: N.v4, asn: NODE_ASN, families: [4 as const], holdTime: 9, connectRetry: 1, gracefulRestart: false }] };
      router = kind === 'bird' ? await BirdRouter.start(lab, 'router', opts) : await FrrRouter.start(lab, 'router', opts);
      bgpProc = router.processes.find((p) => p.name.startsWith(kind === 'bird' ? 'bird' : 'bgpd'))!;
      node = await EdgeNode.start(lab, N.name, { asn: NODE_ASN, routerId: N.v4, listenPort: 179, peers: [peer(9)], ads: [], reconciled: true });
    });

    after(async () => {
      bgpProc?.signal('SIGCONT');
      node?.proc.signal('SIGCONT');
      if (process.exitCode) {
        console.error(lab.logs(60));
        if (node && !node.proc.running) console.error(`our speaker exited: ${JSON.stringify(await node.proc.exited)}\n${node.proc.output().slice(-3000)}`);
      }
      if (node?.proc.running) await node.stop('shutdown');
      await lab.teardown();
    });

    it(`${ROUNDS} simultaneous starts give at least 5 collisions, each resolved to one Established session`, async () => {
      const t0 = Date.now();
      await router.waitEstablished(undefined, { timeoutMs: 30_000 });
      const c0 = collisionCount();
      for (let k = 0; k < ROUNDS; k++) {
        // 1. router frozen; our session reset (a changed hold time): it connects and sends its OPEN
        bgpProc.signal('SIGSTOP');
        try {
          await node.setPeers([peer(k % 2 === 0 ? 10 : 9)]);
          await until(`round ${k}: our session in OpenSent`, async () => (await node.neighbors())[0]?.state, (s) => s === 'OpenSent', 10_000);
          node.proc.signal('SIGSTOP');
        } finally {
          bgpProc.signal('SIGCONT');
        }
        // 2. we are frozen: the router sees the old session end and connects to us (our kernel accepts)
        try {
          const deadline = Date.now() + 4_000;
          while (Date.now() < deadline) {
            const conns = await bgpConns(N.name);
            // the router's connection: our local port 179, its port ephemeral
            if (conns.some((l) => { const f = l.trim().split(/\s+/); return f.at(-2)?.endsWith(':179') && !f.at(-1)?.endsWith(':179'); })) break;
            await sleep(50);
          }
          await sleep(300); // its OPEN follows the handshake
        } finally {
          node.proc.signal('SIGCONT');
        }
        // 3. both thawed: one Established session on each side, one TCP connection left
        const v = await until(`round ${k}: one Established session at our side`, () => node.neighbors(), (ns) => ns.length === 1 && ns[0]!.state === 'Established', 30_000);
        assert.equal(v.length, 1);
        await router.waitEstablished([N.v4], { timeoutMs: 15_000 });
        const rn = (await router.neighbors()).filter((n) => n.address === N.v4);
        assert.deepEqual(rn.map((n) => n.state), ['Established'], `round ${k}: ${kind} has one Established session for ${N.v4}`);
        await until(`round ${k}: one TCP connection on port 179 in ${N.name}`, () => bgpConns(N.name), (c) => c.length === 1, 5_000);
        await until(`round ${k}: one TCP connection on port 179 in the router`, () => bgpConns('router'), (c) => c.length === 1, 5_000);
        assert.equal((await node.neighbors())[0]!.state, 'Established', `round ${k}: still Established after the loser closed`);
      }
      await sleep(500); // the log is written asynchronously
      const c1 = collisionCount();
      const byId = c1.byId - c0.byId;
      const byRouter = c1.byRouter - c0.byRouter;
      const vsEstablished = c1.vsEstablished - c0.vsEstablished;
      const seen = byId + byRouter + vsEstablished;
      const took = Date.now() - t0;
      console.log(`${kind}: ${seen} connection collisions in ${ROUNDS} rounds (${byId} resolved here by router id, ${byRouter} resolved by the router, ${vsEstablished} against Established), ${(took / 1000).toFixed(1)} s`);
      assert.ok(seen >= 5, `${kind}: only ${seen} collisions in ${ROUNDS} rounds`);
      assert.equal(node.proc.running, true, 'our speaker is still running');
    });
  });
}

collisions('bird');
collisions('frr');
