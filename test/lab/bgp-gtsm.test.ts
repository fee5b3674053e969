// Lab: GTSM (RFC 5082) through the native addon's sockets: with BIRD's `ttl security on` the
// session comes up (we send TTL 255 and require 255); toward a BIRD that sends TTL 1 our minimum
// TTL drops its packets, so the session never comes up and nothing is installed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Lab, edgeTopology, edgePlan, BirdRouter } from './lib/index.js';
import { EdgeNode, peerSpec } from './bgp-node.js';

const R = edgePlan.router;
const N1 = edgePlan.node(1);
const N2 = edgePlan.node(2);
const VIP = '192.168.80.251/32';

describe('bgp GTSM with bird', () => {
  let lab: Lab;
  let bird: BirdRouter;
  const nodes: EdgeNode[] = [];

  before(async () => {
    lab = await Lab.create(edgeTopology({ prefix: 'bgt', nodes: 2, client: false, ipv6: false }));
    bird = await BirdRouter.start(lab, 'router', {
      asn: 64512,
      routerId: R.lan4,
      neighbors: [
        { address: N1.v4, asn: 64601, name: 'gtsm' },
        { address: N2.v4, asn: 64602, name: 'plain' },
      ],
    });
    // the lab's BIRD config has no GTSM switch: turn it on for protocol "gtsm" and reload
    const conf = readFileSync(bird.configPath, 'utf8').replace(/(protocol bgp gtsm \{\n)/, '$1  ttl security on;\n');
    assert.match(conf, /ttl security on/);
    writeFileSync(bird.configPath, conf);
    assert.match(await bird.birdc('configure'), /Reconfigured|Reconfiguration in progress/);
    for (const [i, n] of [N1, N2].entries()) {
      nodes.push(
        await EdgeNode.start(lab, n.name, {
          asn: 64601 + i,
          routerId: n.v4,
          native: true,
          peers: [peerSpec(R.lan4, 64512, { localAddress: n.v4, gtsm: true, families: ['ipv4'] })],
          ads: [{ prefix: VIP }],
          reconciled: true,
        }),
      );
    }
  });

  after(async () => {
    await Promise.all(nodes.map((n) => (n.proc.running ? n.stop('shutdown') : undefined)));
    await lab.teardown();
  });

  it('GTSM on both sides: Established and the route is installed', async () => {
    await bird.waitEstablished([N1.v4], { timeoutMs: 30_000 });
    await lab.waitForFibRoute('router', VIP, (r) => r.nexthops.length === 1, { timeoutMs: 15_000 });
    assert.deepEqual((await lab.fibRoutes('router', VIP))[0]!.nexthops, [N1.v4]);
  });

  it('a router sending TTL 1 is never accepted by a GTSM peer', async () => {
    // the handshake may complete (the router's kernel answers the SYN with its default TTL), but
    // every segment BIRD's session sends with TTL 1 (OPEN, KEEPALIVE, its FIN) is dropped by our
    // minimum TTL: the session never gets past OpenSent (RFC 4271's 4-minute OpenSent hold timer
    // ends the attempt later)
    for (let k = 0; k < 40; k++) {
      const v = (await nodes[1]!.neighbors())[0]!;
      assert.ok(['Idle', 'Connect', 'Active', 'OpenSent'].includes(v.state), `state ${v.state}`);
      assert.equal(v.capabilities, null);
      await new Promise((r) => setTimeout(r, 250));
    }
    const rn = (await bird.neighbors()).find((n) => n.address === N2.v4);
    assert.notEqual(rn?.state, 'Established');
    assert.deepEqual((await lab.fibRoutes('router', VIP))[0]!.nexthops, [N1.v4]);
  });
});
