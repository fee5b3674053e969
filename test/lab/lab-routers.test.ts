// Lab library: routers change configuration at run time (BIRD reconfigure, FRR vtysh configure) and MD5 really guards sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab, edgeTopology, edgePlan, BirdRouter, FrrRouter, GobgpRouter } from './lib/index.js';

const R = edgePlan.router;
const N1 = edgePlan.node(1);
const N2 = edgePlan.node(2);

async function speakers(lab: Lab, passwords: (string | undefined)[]): Promise<GobgpRouter[]> {
  const out: GobgpRouter[] = [];
  for (const [i, n] of [N1, N2].entries()) {
    const pw = passwords[i];
    out.push(await GobgpRouter.start(lab, n.name, { asn: 64513 + i, routerId: n.v4, neighbors: [{ address: R.lan4, asn: 64512, localAddress: n.v4, ...(pw ? { password: pw } : {}) }] }));
  }
  return out;
}

test('BIRD: a wrong MD5 password keeps the session down; reconfigure with the right one brings it up', async () => {
  const lab = await Lab.create(edgeTopology({ prefix: 'labr', nodes: 2, client: false, ipv6: false }));
  try {
    const base = { asn: 64512, routerId: R.lan4 };
    const bird = await BirdRouter.start(lab, 'router', { ...base, neighbors: [{ address: N1.v4, asn: 64513, password: 'right' }, { address: N2.v4, asn: 64514, password: 'wrong' }] });
    const [s1, s2] = await speakers(lab, ['right', 'right']);
    await s1!.announce('10.9.9.1/32');
    await s2!.announce('10.9.9.2/32');
    await bird.waitEstablished([N1.v4]);
    await sleep(3000); // several connect attempts with the wrong key
    const n2 = (await bird.neighbors()).find((n) => n.address === N2.v4);
    assert.notEqual(n2?.state, 'Established');
    assert.equal((await bird.routes('10.9.9.2/32')).length, 0);

    await bird.reconfigure({ ...base, neighbors: [{ address: N1.v4, asn: 64513, password: 'right' }, { address: N2.v4, asn: 64514, password: 'right' }] });
    await bird.waitEstablished([N1.v4, N2.v4]);
    const r = await bird.waitRoute('10.9.9.2/32');
    assert.deepEqual(r.nexthops, [N2.v4]);
    await lab.waitForFibRoute('router', '10.9.9.2/32');
  } catch (e) {
    console.error(lab.logs(40));
    throw e;
  } finally {
    await lab.teardown();
  }
});

test('FRR: a neighbour added through vtysh configure comes up and its route reaches zebra and the FIB', async () => {
  const lab = await Lab.create(edgeTopology({ prefix: 'labr', nodes: 2, client: false, ipv6: false }));
  try {
    const frr = await FrrRouter.start(lab, 'router', { asn: 64512, routerId: R.lan4, neighbors: [{ address: N1.v4, asn: 64513 }] });
    const [s1, s2] = await speakers(lab, [undefined, undefined]);
    await s1!.announce('10.9.9.1/32');
    await s2!.announce('10.9.9.2/32');
    await frr.waitEstablished();
    assert.deepEqual((await frr.neighbors()).map((n) => n.address), [N1.v4]);
    await frr.configure([
      'router bgp 64512',
      ` neighbor ${N2.v4} remote-as 64514`,
      ` neighbor ${N2.v4} timers connect 1`,
      ' address-family ipv4 unicast',
      `  neighbor ${N2.v4} activate`,
    ]);
    await frr.waitEstablished([N1.v4, N2.v4]);
    await frr.waitRoute('10.9.9.2/32');
    const fib = await lab.waitForFibRoute('router', '10.9.9.2/32');
    assert.deepEqual(fib.nexthops, [N2.v4]);
    assert.equal(fib.protocol, 'bgp');
    await assert.rejects(frr.configure(['router bgp 64512', ' neighbor 10.0.0.99 no-such-option']), /vtysh configure/);
  } catch (e) {
    console.error(lab.logs(40));
    throw e;
  } finally {
    await lab.teardown();
  }
});
