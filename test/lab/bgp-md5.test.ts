// Lab: TCP MD5 (RFC 2385) sessions between edge-node BgpSpeakers (native addon sockets) and
// BIRD / FRR: the right password reaches Established (connecting out, and accepted on our own
// keyed listener); a wrong password fails cleanly (never Established, the other node unaffected,
// the password never in logs or the neighbours view).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, edgeTopology, edgePlan, BirdRouter, FrrRouter, type BgpRouter } from './lib/index.js';
import { EdgeNode, peerSpec } from './bgp-node.js';

const R = edgePlan.router;
const N1 = edgePlan.node(1);
const N2 = edgePlan.node(2);
const GOOD = 'edgelb-md5-key';
const VIP = '192.168.80.250/32';

function md5(kind: 'bird' | 'frr'): void {
  describe(`bgp MD5 with ${kind}`, () => {
    let lab: Lab;
    let router: BgpRouter;
    const nodes: EdgeNode[] = [];

    before(async () => {
      lab = await Lab.create(edgeTopology({ prefix: 'bgm', nodes: 2, client: false }));
      // the router knows the right password for both nodes; node2 is configured with a wrong one.
      // node1 is passive on the router side, so node1's session is made by our outgoing connect;
      // node2 (wrong key) is active on the router side, exercising our keyed listener too.
      const opts = {
        asn: 64512,
        routerId: R.lan4,
        neighbors: [
          { address: N1.v4, asn: 64601, password: GOOD, passive: true },
          { address: N2.v4, asn: 64602, password: GOOD },
        ],
      };
      router = kind === 'bird' ? await BirdRouter.start(lab, 'router', opts) : await FrrRouter.start(lab, 'router', opts);
      nodes.push(
        await EdgeNode.start(lab, N1.name, {
          asn: 64601,
          routerId: N1.v4,
          listenPort: 179,
          native: true,
          peers: [peerSpec(R.lan4, 64512, { localAddress: N1.v4, password: GOOD, families: ['ipv4'] })],
          ads: [{ prefix: VIP }],
          reconciled: true,
        }),
      );
      nodes.push(
        await EdgeNode.start(lab, N2.name, {
          asn: 64602,
          routerId: N2.v4,
          listenPort: 179,
          native: true,
          peers: [peerSpec(R.lan4, 64512, { localAddress: N2.v4, password: 'wrong-password-xyz', families: ['ipv4'] })],
          ads: [{ prefix: VIP }],
          reconciled: true,
        }),
      );
    });

    after(async () => {
      await Promise.all(nodes.map((n) => (n.proc.running ? n.stop('shutdown') : undefined)));
      await lab.teardown();
    });

    it('the right password: Established, and the route reaches the FIB', async () => {
      await router.waitEstablished([N1.v4], { timeoutMs: 30_000 });
      const v = (await nodes[0]!.neighbors())[0]!;
      assert.equal(v.state, 'Established');
      await lab.waitForFibRoute('router', VIP, (r) => r.nexthops.length === 1, { timeoutMs: 15_000 });
      assert.deepEqual((await lab.fibRoutes('router', VIP))[0]!.nexthops, [N1.v4]);
    });

    it('a wrong password fails cleanly: never Established, nothing installed from it, no crash', async () => {
      await new Promise((r) => setTimeout(r, 6000)); // several connect attempts both ways
      const rn = (await router.neighbors()).find((n) => n.address === N2.v4);
      assert.notEqual(rn?.state, 'Established');
      const v = (await nodes[1]!.neighbors())[0]!;
      assert.notEqual(v.state, 'Established');
      assert.equal(v.lastError?.class, 'socket', JSON.stringify(v.lastError));
      assert.equal(v.lastError?.reason, 'connect-failed');
      assert.ok(nodes[1]!.proc.running, 'the runner is alive');
      assert.deepEqual((await lab.fibRoutes('router', VIP))[0]!.nexthops, [N1.v4], 'only node1 next hop');
      for (const n of nodes) {
        assert.ok(!n.proc.output().includes(GOOD) && !n.proc.output().includes('wrong-password-xyz'), 'password absent from logs');
        assert.ok(!JSON.stringify(await n.neighbors()).includes('password'), 'password absent from the neighbours view');
      }
      // the good session was never disturbed
      const v1 = (await nodes[0]!.neighbors())[0]!;
      assert.equal(v1.state, 'Established');
      assert.equal(v1.lastError, null);
    });
  });
}

md5('bird');
md5('frr');
