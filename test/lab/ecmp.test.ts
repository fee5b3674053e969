// Lab proof: two GoBGP speakers announce the same /32 (and /128); BIRD and FRR install ONE route with TWO next hops; nothing is left after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Lab, edgeTopology, edgePlan, run, BirdRouter, FrrRouter, GobgpRouter, RECORD_DIR, isRunning, type BgpRouter, type NeighborConfig } from './lib/index.js';

const VIP4 = '10.9.9.9/32';
const VIP6 = 'fd00:9::9/128';
const R = edgePlan.router;
const N1 = edgePlan.node(1);
const N2 = edgePlan.node(2);

async function hostState(): Promise<{ netns: string[]; bridges: string[] }> {
  const ns = await run(['ip', '-j', 'netns', 'list']);
  const br = await run(['ip', '-j', 'link', 'show', 'type', 'bridge']);
  const parse = (s: string) => (s.trim() ? (JSON.parse(s) as { name?: string; ifname?: string }[]) : []);
  return { netns: parse(ns.stdout).map((x) => x.name ?? ''), bridges: parse(br.stdout).map((x) => x.ifname ?? '') };
}

async function ecmpProof(kind: 'bird' | 'frr'): Promise<void> {
  const before = await hostState();
  const lab = await Lab.create(edgeTopology({ prefix: 'ecmp', nodes: 2, client: false }));
  const netns = lab.nodes.map((n) => n.netns);
  const pids: number[] = [];
  try {
    // the router peers with both nodes over IPv4 and IPv6; node1 uses an MD5 password
    const neighbors: NeighborConfig[] = [
      { address: N1.v4, asn: 64513, password: 'lab-md5' },
      { address: N2.v4, asn: 64514 },
      { address: N1.v6, asn: 64513 },
      { address: N2.v6, asn: 64514 },
    ];
    const routerOpts = { asn: 64512, routerId: R.lan4, neighbors };
    const router: BgpRouter = kind === 'bird' ? await BirdRouter.start(lab, 'router', routerOpts) : await FrrRouter.start(lab, 'router', routerOpts);
    const speakers: GobgpRouter[] = [];
    for (const [i, n] of [N1, N2].entries()) {
      speakers.push(
        await GobgpRouter.start(lab, n.name, {
          asn: 64513 + i,
          routerId: n.v4,
          neighbors: [
            { address: R.lan4, asn: 64512, localAddress: n.v4, ...(i === 0 ? { password: 'lab-md5' } : {}) },
            { address: R.lan6, asn: 64512, localAddress: n.v6 },
          ],
        }),
      );
    }
    for (const s of speakers) {
      await s.announce(VIP4, { med: 10, origin: 'igp', communities: ['64512:100'] });
      await s.announce(VIP6, { med: 10, origin: 'igp' });
    }

    const est = await router.waitEstablished();
    assert.deepEqual(est.filter((n) => n.state === 'Established').map((n) => n.address).sort(), [N1.v4, N2.v4, N1.v6, N2.v6].sort());

    // the router's RIB holds two paths, one per speaker, with the attributes they sent
    const rib = await router.waitRoute(VIP4, (r) => r.paths.length === 2);
    assert.deepEqual([...rib.nexthops].sort(), [N1.v4, N2.v4]);
    assert.deepEqual(rib.paths.map((p) => p.asPath).sort(), [[64513], [64514]]);
    assert.equal(rib.med, 10);
    if (kind === 'bird') assert.deepEqual(rib.communities, ['64512:100']); // FRR's prefix view has them too:
    const one = await router.routes(VIP4);
    assert.equal(one.length, 1);
    assert.deepEqual(one[0]!.communities, ['64512:100']);

    // the kernel FIB of the router namespace: ONE route, TWO next hops (both families)
    const fib4 = await lab.waitForFibRoute('router', VIP4, (r) => r.nexthops.length === 2, { timeoutMs: 20_000 });
    assert.deepEqual([...fib4.nexthops].sort(), [N1.v4, N2.v4]);
    assert.equal((await lab.fibRoutes('router', VIP4)).length, 1, 'exactly one FIB route for the VIP');
    const fib6 = await lab.waitForFibRoute('router', VIP6, (r) => r.nexthops.length === 2, { timeoutMs: 20_000 });
    assert.deepEqual([...fib6.nexthops].sort(), [N1.v6, N2.v6].sort());
    assert.equal((await lab.fibRoutes('router', VIP6)).length, 1);

    const nb = await router.neighbors();
    for (const a of [N1.v4, N2.v4, N1.v6, N2.v6]) {
      const n = nb.find((x) => x.address === a);
      assert.equal(n?.state, 'Established', a);
      assert.equal(n?.prefixesReceived, 1, `${a} prefixes`);
    }

    // one speaker withdraws: the FIB keeps the route with the other next hop only
    await speakers[0]!.withdraw(VIP4);
    const left = await lab.waitForFibRoute('router', VIP4, (r) => r.nexthops.length === 1, { timeoutMs: 20_000 });
    assert.deepEqual(left.nexthops, [N2.v4]);

    pids.push(...lab.processes.map((p) => p.pid));
    assert.equal(pids.length, kind === 'bird' ? 3 : 4);
  } catch (e) {
    console.error(lab.logs(60));
    throw e;
  } finally {
    await lab.teardown();
  }

  // nothing of the test remains: namespaces, processes, bridges, scratch dir, ownership record
  const after = await hostState();
  for (const n of netns) assert.ok(!after.netns.includes(n), `namespace ${n} removed`);
  assert.ok(!after.netns.some((n) => n.startsWith(`${lab.tag}-`)));
  // (other helpers' labs may come and go meanwhile, so only our bridge's name is checked)
  const newBridges = after.bridges.filter((b) => !before.bridges.includes(b));
  assert.ok(!newBridges.includes(R.bridge), 'no lab bridge in the host namespace');
  assert.equal((await run(['ip', 'link', 'show', 'dev', R.bridge], { check: false })).code === 0, before.bridges.includes(R.bridge));
  for (const p of pids) assert.ok(!isRunning(p), `process ${p} gone`);
  for (const p of pids) for (const d of ['zebra', 'bgpd']) assert.ok(!existsSync(`/var/tmp/frr/${d}.${p}`), `FRR temp dir of ${p} removed`);
  assert.ok(!existsSync(lab.dir), 'scratch dir removed');
  const recs = await run(['sh', '-c', `ls ${RECORD_DIR} 2>/dev/null || true`]);
  assert.ok(!recs.stdout.split('\n').some((f) => f.startsWith(`ecmp-${process.pid}-`)), 'ownership record removed');
}

test('ECMP at BIRD: one FIB route with two next hops from two GoBGP speakers, nothing left after', async () => {
  await ecmpProof('bird');
});

test('ECMP at FRR: one FIB route with two next hops from two GoBGP speakers, nothing left after', async () => {
  await ecmpProof('frr');
});

test('GoBGP as the router: its RIB (GoBGP installs no FIB routes) holds both speakers\' paths; withdraw leaves one', async () => {
  const lab = await Lab.create(edgeTopology({ prefix: 'ecmp', nodes: 2, client: false, ipv6: false }));
  try {
    const router = await GobgpRouter.start(lab, 'router', {
      role: 'router',
      asn: 64512,
      routerId: R.lan4,
      neighbors: [
        { address: N1.v4, asn: 64513, passive: true },
        { address: N2.v4, asn: 64514, passive: true },
      ],
    });
    const speakers = [];
    for (const [i, n] of [N1, N2].entries()) {
      speakers.push(await GobgpRouter.start(lab, n.name, { asn: 64513 + i, routerId: n.v4, neighbors: [{ address: R.lan4, asn: 64512, localAddress: n.v4 }] }));
    }
    await speakers[0]!.announce(VIP4, { med: 7, largeCommunities: ['64512:1:2'] });
    await speakers[1]!.announce(VIP4, { med: 7 });
    await router.waitEstablished();
    const rib = await router.waitRoute(VIP4, (r) => r.paths.length === 2);
    assert.deepEqual([...rib.nexthops].sort(), [N1.v4, N2.v4]);
    assert.deepEqual(rib.paths.map((p) => p.from).sort(), [N1.v4, N2.v4]);
    assert.equal(rib.paths.filter((p) => p.best).length, 1);
    assert.ok(rib.paths.every((p) => p.med === 7));
    assert.deepEqual(rib.paths.find((p) => p.from === N1.v4)?.largeCommunities, ['64512:1:2']);
    // the router exports nothing back (role 'router': default export policy reject)
    assert.deepEqual(await speakers[0]!.neighbors().then((ns) => ns.map((n) => n.prefixesReceived)), [0]);
    assert.deepEqual(await lab.fibRoutes('router', VIP4), [], 'GoBGP does not program the kernel');
    await speakers[1]!.withdraw(VIP4);
    const left = await router.waitRoute(VIP4, (r) => r.paths.length === 1);
    assert.deepEqual(left.nexthops, [N1.v4]);
    await speakers[0]!.withdraw(VIP4);
    await router.waitNoRoute(VIP4);
  } catch (e) {
    console.error(lab.logs(60));
    throw e;
  } finally {
    await lab.teardown();
  }
});
