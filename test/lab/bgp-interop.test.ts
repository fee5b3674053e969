// Lab interop: three edge nodes, each running a BgpSpeaker (test/lab/bgp-runner.ts) with a 4-byte
// ASN, peer with a real router (BIRD 2, FRR, GoBGP) over IPv4 carrying IPv4 and IPv6 (MP-BGP).
// Checks ECMP in the router's kernel FIB (one route, three next hops), attributes at the router,
// withdrawal, 100 changes without a reset, graceful restart across kill -9, and hold-timer flush of
// a node whose link goes down silently.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, edgeTopology, edgePlan, BirdRouter, FrrRouter, GobgpRouter, type BgpRouter, type NeighborConfig } from './lib/index.js';
import { EdgeNode, peerSpec, type EdgeNodeConfig } from './bgp-node.js';
import type { Advertisement } from '../../src/bgp/speaker.js';

const R = edgePlan.router;
const NODES = [1, 2, 3].map((i) => edgePlan.node(i));
const ROUTER_ASN = 64512;
const asnOf = (i: number) => 4200000001 + i; // 4-byte ASNs
const VIP4 = '192.168.80.241/32';
const VIP6 = 'fd00:80::241/128';
const VIP4B = '192.168.80.242/32';

function nodeConfig(i: number, ads: Advertisement[], extra: Partial<EdgeNodeConfig> = {}): EdgeNodeConfig {
  const n = NODES[i]!;
  return {
    asn: asnOf(i),
    routerId: n.v4,
    // node3 has no localAddresses: its IPv6 next hop is found on the interface of the session's address
    ...(i === 2 ? {} : { localAddresses: { ipv4: n.v4, ipv6: n.v6 } }),
    peers: [peerSpec(R.lan4, ROUTER_ASN, { localAddress: n.v4 })],
    ads,
    reconciled: true,
    ...extra,
  };
}

const baseAds = (i: number): Advertisement[] => [
  { prefix: VIP4, med: 10, communities: ['64512:100', 'no-export'], largeCommunities: [`${ROUTER_ASN}:1:${i + 1}`] },
  { prefix: VIP6, med: 10 },
];

type Kind = 'bird' | 'frr' | 'gobgp';

function interop(kind: Kind): void {
  describe(`bgp interop with ${kind}`, () => {
    let lab: Lab;
    let router: BgpRouter;
    const nodes: EdgeNode[] = [];
    const fib = kind !== 'gobgp';

    /** Next hops the router uses for a prefix: kernel FIB (BIRD, FRR) or RIB paths (GoBGP). */
    async function nexthops(prefix: string): Promise<string[]> {
      if (fib) return (await lab.fibRoutes('router', prefix)).flatMap((r) => r.nexthops).sort();
      return (await ribRoutes(prefix)).flatMap((r) => r.paths.map((p) => p.nexthop)).sort();
    }
    /** The router's RIB entries for a prefix ([] when it has none; birdc fails with "Network not found"). */
    async function ribRoutes(prefix: string) {
      try {
        return await router.routes(prefix);
      } catch (e) {
        if (/Network not found/.test(String((e as { result?: { stdout?: string } }).result?.stdout))) return [];
        throw e;
      }
    }
    async function waitNexthops(prefix: string, want: string[], timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      let got: string[] = [];
      while (Date.now() < deadline) {
        got = await nexthops(prefix);
        if (got.join() === [...want].sort().join()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`${kind}: next hops of ${prefix}: got [${got.join(', ')}], want [${[...want].sort().join(', ')}]`);
    }

    before(async () => {
      lab = await Lab.create(edgeTopology({ prefix: 'bgs', nodes: 3, client: false }));
      const neighbors: NeighborConfig[] = NODES.map((n, i) => ({ address: n.v4, asn: asnOf(i), families: [4, 6], holdTime: 9 }));
      const opts = { asn: ROUTER_ASN, routerId: R.lan4, neighbors };
      router =
        kind === 'bird'
          ? await BirdRouter.start(lab, 'router', opts)
          : kind === 'frr'
            ? await FrrRouter.start(lab, 'router', opts)
            : await GobgpRouter.start(lab, 'router', { ...opts, role: 'router' });
      for (let i = 0; i < 3; i++) nodes.push(await EdgeNode.start(lab, NODES[i]!.name, nodeConfig(i, baseAds(i))));
    });

    after(async () => {
      if (process.exitCode) console.error(lab.logs(30));
      await Promise.all(nodes.map((n) => (n.proc.running ? n.stop('shutdown') : undefined)));
      await lab.teardown();
    });

    it('sessions reach Established on both sides, with 4-byte ASNs and both families', async () => {
      const est = await router.waitEstablished(undefined, { timeoutMs: 30_000 });
      assert.deepEqual(est.map((n) => n.state), ['Established', 'Established', 'Established']);
      for (const [i, n] of nodes.entries()) {
        const v = (await n.neighbors())[0]!;
        assert.equal(v.state, 'Established');
        assert.equal(v.asn, ROUTER_ASN);
        assert.equal(v.localAsn, asnOf(i));
        assert.deepEqual(v.capabilities?.families, ['ipv4', 'ipv6']);
        assert.equal(v.capabilities?.as4, true);
      }
    });

    it('three nodes advertising one VIP give one route with three next hops (IPv4)', async () => {
      await waitNexthops(VIP4, NODES.map((n) => n.v4));
      if (fib) assert.equal((await lab.fibRoutes('router', VIP4)).length, 1, 'exactly one FIB route');
    });

    it('the IPv6 VIP over MP-BGP has three IPv6 next hops', async () => {
      await waitNexthops(VIP6, NODES.map((n) => n.v6));
    });

    it('MED, communities and large communities are visible at the router; the AS path is the 4-byte ASN', async () => {
      const rib = await router.waitRoute(VIP4, (r) => r.paths.length === 3, { timeoutMs: 10_000 });
      for (const p of rib.paths) {
        assert.equal(p.med, 10);
        // FRR prints well-known communities by name
        const wk: Record<string, string> = { noExport: '65535:65281', 'no-export': '65535:65281' };
        assert.deepEqual(p.communities.map((c) => wk[c] ?? c).sort(), ['64512:100', '65535:65281']);
        const i = NODES.findIndex((n) => n.v4 === p.nexthop);
        assert.ok(i >= 0, `next hop ${p.nexthop}`);
        assert.deepEqual(p.largeCommunities, [`${ROUTER_ASN}:1:${i + 1}`]);
        assert.deepEqual(p.asPath, [asnOf(i)]);
      }
    });

    it('removing the VIP from one node removes its next hop; from all withdraws the route', async () => {
      await nodes[0]!.setAds([{ prefix: VIP6, med: 10 }]);
      await waitNexthops(VIP4, [NODES[1]!.v4, NODES[2]!.v4]);
      await nodes[1]!.setAds([{ prefix: VIP6, med: 10 }]);
      await nodes[2]!.setAds([{ prefix: VIP6, med: 10 }]);
      await waitNexthops(VIP4, []);
      assert.deepEqual(await ribRoutes(VIP4), []);
      for (let i = 0; i < 3; i++) await nodes[i]!.setAds(baseAds(i));
      await waitNexthops(VIP4, NODES.map((n) => n.v4));
    });

    it('100 VIP adds and removes cause zero session resets', async () => {
      const before = await Promise.all(nodes.map(async (n) => (await n.neighbors())[0]!.establishedAt));
      for (let k = 0; k < 100; k++) {
        const extra = k % 2 === 0 ? [{ prefix: VIP4B }, { prefix: `192.168.81.${k}/32` }] : [];
        await nodes[k % 3]!.setAds([...baseAds(k % 3), ...extra]);
      }
      for (let i = 0; i < 3; i++) await nodes[i]!.setAds([...baseAds(i), { prefix: VIP4B }]);
      await waitNexthops(VIP4B, NODES.map((n) => n.v4));
      for (let i = 0; i < 3; i++) await nodes[i]!.setAds(baseAds(i));
      await waitNexthops(VIP4B, []);
      const after = await Promise.all(nodes.map(async (n) => (await n.neighbors())[0]!));
      assert.deepEqual(after.map((v) => v.establishedAt), before, 'no session was re-established');
      assert.deepEqual(after.map((v) => v.lastError), [null, null, null]);
      const rn = await router.neighbors();
      assert.deepEqual(rn.map((n) => n.state), ['Established', 'Established', 'Established']);
      const m = await nodes[0]!.metrics();
      assert.match(m, /edgelb_bgp_state_transitions_total\{peer="10\.0\.0\.1",to="Established"\} 1\n/);
      await waitNexthops(VIP4, NODES.map((n) => n.v4));
    });

    if (kind === 'bird') {
      it('a ROUTE-REFRESH from the router (birdc reload in) makes the node send its routes again, without a reset', async () => {
        const sent = async () => Number(/edgelb_bgp_updates_sent_total\{peer="10\.0\.0\.1"\} (\d+)/.exec(await nodes[0]!.metrics())?.[1] ?? 0);
        const before = await sent();
        const est = (await nodes[0]!.neighbors())[0]!.establishedAt;
        await (router as BirdRouter).birdc(`reload in n_${NODES[0]!.v4.replace(/\./g, '_')}`);
        const deadline = Date.now() + 10_000;
        while ((await sent()) <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.ok((await sent()) > before, 'UPDATEs sent again');
        assert.equal((await nodes[0]!.neighbors())[0]!.establishedAt, est);
        await waitNexthops(VIP4, NODES.map((n) => n.v4));
      });
    }

    if (kind !== 'gobgp') {
      it('kill -9 of one node and a restart within the restart time keep its routes at the router the whole time (graceful restart)', async () => {
        await waitNexthops(VIP4, NODES.map((n) => n.v4));
        const samples: string[][] = [];
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            samples.push(await nexthops(VIP4));
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        await nodes[0]!.kill9();
        await new Promise((r) => setTimeout(r, 2000)); // down for a while
        await nodes[0]!.restart(nodeConfig(0, baseAds(0), { restarting: true, forwardingPreserved: true }), '-restarted');
        // wait until the new session is up and End-of-RIB went out, then a little more
        const deadline = Date.now() + 30_000;
        for (;;) {
          const v = (await nodes[0]!.neighbors())[0];
          if (v?.state === 'Established' && v.endOfRibSent) break;
          if (Date.now() > deadline) assert.fail('restarted node did not re-establish');
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 2000));
        sampling = false;
        await sampler;
        const want = NODES.map((n) => n.v4).sort().join();
        const bad = samples.filter((s) => s.join() !== want);
        assert.ok(samples.length > 30, `${samples.length} samples`);
        assert.deepEqual(bad, [], `the route lost a next hop in ${bad.length} of ${samples.length} samples`);
        const rn = await router.neighbors();
        assert.ok(rn.every((n) => n.state === 'Established'));
      });

      it('without graceful restart (negative control), kill -9 of a node drops its next hop until it is back', async () => {
        // node2 re-configured without GR: its session resets once, then a kill -9 must flush its routes
        await nodes[1]!.setPeers(nodeConfig(1, []).peers.map((p) => ({ ...p, gracefulRestart: false })));
        await new Promise((r) => setTimeout(r, 500));
        const deadline = Date.now() + 20_000;
        while (((await nodes[1]!.neighbors())[0]?.state !== 'Established' || (await nodes[1]!.neighbors())[0]?.capabilities?.gracefulRestart !== false) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        await waitNexthops(VIP4, NODES.map((n) => n.v4));
        await nodes[1]!.kill9();
        await waitNexthops(VIP4, [NODES[0]!.v4, NODES[2]!.v4], 5_000);
        await nodes[1]!.restart(nodeConfig(1, baseAds(1)), '-back');
        await waitNexthops(VIP4, NODES.map((n) => n.v4), 20_000);
      });

      it('a node whose link goes down silently is flushed when the router hold timer expires', async () => {
        await waitNexthops(VIP4, NODES.map((n) => n.v4));
        const t0 = Date.now();
        await lab.linkDown(NODES[2]!.name, 'eth0');
        await waitNexthops(VIP4, [NODES[0]!.v4, NODES[1]!.v4], 20_000);
        const took = Date.now() - t0;
        // hold 9 s, keepalives every 3 s: the flush comes 6..9 s after the last keepalive (less on a
        // loaded machine whose keepalives ran late), never at once as a closed session would
        assert.ok(took >= 2_500, `flushed after ${took} ms: expected the hold timer, not an immediate close`);
        // and it stays flushed (not kept as stale: no N-bit)
        await new Promise((r) => setTimeout(r, 1500));
        assert.deepEqual(await nexthops(VIP4), [NODES[0]!.v4, NODES[1]!.v4].sort());
        await lab.linkUp(NODES[2]!.name, 'eth0');
        await waitNexthops(VIP4, NODES.map((n) => n.v4), 60_000);
      });
    }
  });
}

interop('bird');
interop('frr');
interop('gobgp');
