// Several edge nodes in Kubernetes mode (issue 14): three `edgelb daemon --kubernetes` processes,
// one per Node object and network namespace, uplinks named eno1 / bond0 / eth0 (renamed veths),
// one node with another ASN (a Node annotation), BIRD as the router, and the shipped kind of
// settings file: no cluster section. Regressions of issue 14 point 1: every node was master of
// every shard (every node answered ARP for every L2 VIP, activeBackup became ECMP), and a new node
// needed a restart of the others; point 2: one interface and one ASN for every node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { MultiNodeLab, DEFAULT_ASN, SETTINGS_YAML } from './multinode-lab.js';
import { createPool, ensureNamespace, lbService, waitUntil } from './lib.js';

const ASN3 = 64514;

async function serviceWithEndpoint(m: MultiNodeLab, name: string, pool: string): Promise<void> {
  await m.admin.core.createNamespacedService({ namespace: 'shop', body: lbService('shop', name, { ann: { 'edgelb.io/pool': pool } }) });
  await m.admin.discovery.createNamespacedEndpointSlice({
    namespace: 'shop',
    body: {
      metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'p0', port: 80, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.78.0.100'], conditions: { ready: true } }],
    },
  });
}

const ingressIp = (m: MultiNodeLab, name: string) =>
  waitUntil(async () => (await m.admin.core.readNamespacedService({ namespace: 'shop', name })).status?.loadBalancer?.ingress?.[0]?.ip, `ingress IP of ${name}`, 60_000, 300);

test('k8s multi-node: per-node uplink and ASN, shards spread, one ARP owner per VIP that moves when killed, one BGP next hop, a fourth node joins without restarts', { timeout: 360_000 }, async () => {
  const t0 = Date.now();
  const m = await MultiNodeLab.start({
    nodes: [
      { name: 'n1', index: 1, uplink: 'eno1', annotations: { 'edgelb.io/interface': 'eno1' } },
      // a bad router id: an Event on the Node names it, the InternalIP is used
      { name: 'n2', index: 2, uplink: 'bond0', annotations: { 'edgelb.io/interface': 'bond0', 'edgelb.io/router-id': '300.1.1.1' } },
      // no interface annotation: the settings file's eth0; another ASN
      { name: 'n3', index: 3, uplink: 'eth0', annotations: { 'edgelb.io/asn': String(ASN3) }, asn: ASN3 },
    ],
  });
  try {
    const { admin } = m;
    await admin.custom.createClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', body: { apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { address: '10.78.0.1', asn: 64512 } } });
    await createPool(admin, 'lan', { cidrs: ['10.78.0.200/29'], announce: 'l2' });
    await createPool(admin, 'ab', { cidrs: ['192.168.91.0/28'], announce: 'bgp', bgpMode: 'activeBackup' });
    await ensureNamespace(admin, 'shop');
    for (const n of ['n1', 'n2', 'n3']) await m.startDaemon(n);
    for (const n of ['n1', 'n2', 'n3']) await waitUntil(() => m.ha(n), `API of ${n}`, 60_000, 300);
    for (const n of ['n1', 'n2', 'n3']) await m.markReady(n);

    // 12 shards (the default without a cluster section) spread 4/4/4, one master each, all agree
    const three = await waitUntil(async () => {
      const c = await m.shardMasters(['n1', 'n2', 'n3']);
      return c && [...c.values()].every((x) => x === 4) ? c : undefined;
    }, 'shards spread over three nodes', 90_000, 500);
    assert.equal([...three.values()].reduce((a, b) => a + b, 0), 12);

    // per-node settings: each node peers from its own uplink, n3 with its own ASN
    await m.bird!.waitEstablished(['n1', 'n2', 'n3'].map((n) => m.node(n).addr), { timeoutMs: 60_000 });
    const n3 = (await m.bird!.neighbors()).find((x) => x.address === m.node('n3').addr)!;
    assert.equal(n3.asn, ASN3);
    assert.equal((await m.bird!.neighbors()).find((x) => x.address === m.node('n1').addr)!.asn, DEFAULT_ASN);
    const ev = await waitUntil(async () => {
      const list = await admin.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=mn-n2' });
      return list.items.find((e) => e.reason === 'InvalidNodeSetting');
    }, 'InvalidNodeSetting Event on mn-n2', 30_000, 500);
    assert.match(ev.message ?? '', /edgelb\.io\/router-id: "300\.1\.1\.1" must be an IPv4 address/);

    // a changed annotation does not apply live: RestartRequired on the Node, the session keeps its ASN
    const nodeEvent = (node: string, reason: string) =>
      waitUntil(async () => (await admin.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${node}` })).items.find((e) => e.reason === reason), `${reason} Event on ${node}`, 30_000, 500);
    await admin.core.patchNode({ name: 'mn-n1', body: { metadata: { annotations: { 'edgelb.io/asn': '64600' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    assert.match((await nodeEvent('mn-n1', 'RestartRequired')).message ?? '', /asn 64513 → 64600/);
    const n1 = (await m.bird!.neighbors()).find((x) => x.address === m.node('n1').addr)!;
    assert.deepEqual([n1.state, n1.asn], ['Established', DEFAULT_ASN]);
    // the settings file (the ConfigMap) is watched: a bad one is refused with an Event, the last good one kept
    writeFileSync(m.settingsPath, SETTINGS_YAML.replace(`asn: ${DEFAULT_ASN}`, 'asn: 0'));
    assert.match((await nodeEvent('mn-n3', 'InvalidConfig')).message ?? '', /bgp\.asn/);
    writeFileSync(m.settingsPath, SETTINGS_YAML);

    // L2: exactly one MAC answers the VIP, the uplink MAC of its shard's master
    await serviceWithEndpoint(m, 'l2web', 'lan');
    await serviceWithEndpoint(m, 'abweb', 'ab');
    const l2vip = await ingressIp(m, 'l2web');
    const abvip = await ingressIp(m, 'abweb');
    const masterOf = async (vip: string) => {
      const row = (await m.vips('n1')).find((v) => v.vip === vip);
      return row?.master ? m.byNodeName(row.master) : undefined;
    };
    const owner = await waitUntil(async () => {
      const macs = await m.arpMacs(l2vip);
      const master = await masterOf(l2vip);
      return macs.length === 1 && master && macs[0] === master.mac ? master : undefined;
    }, `one ARP owner of ${l2vip}`, 60_000, 500);
    assert.deepEqual(await m.arpMacs(l2vip, 4), [owner.mac], 'still exactly one MAC');

    // BGP activeBackup: every node advertises, the router uses one next hop: the shard's master
    const abMaster = await waitUntil(() => masterOf(abvip), `master of ${abvip}`, 30_000, 300);
    const fib = await m.lab.waitForFibRoute('router', `${abvip}/32`, (r) => r.nexthops.length === 1 && r.nexthops[0] === abMaster.addr, { timeoutMs: 60_000 });
    assert.deepEqual(fib.nexthops, [abMaster.addr]);
    const rib = await m.bird!.waitRoute(`${abvip}/32`, (r) => r.paths.length === 3, { timeoutMs: 60_000 });
    assert.deepEqual(rib.paths.filter((p) => p.best).map((p) => p.nexthop), [abMaster.addr]);

    // the L2 owner dies: another node answers, still exactly one
    await m.kill(owner.name);
    const survivors = ['n1', 'n2', 'n3'].filter((n) => n !== owner.name);
    const next = await waitUntil(async () => {
      const macs = await m.arpMacs(l2vip);
      return macs.length === 1 && macs[0] !== owner.mac ? m.byMac(macs[0]!) : undefined;
    }, 'a new ARP owner', 30_000, 300);
    assert.ok(survivors.includes(next.name), `the new owner ${next.name} is alive`);
    // its pod goes away (the node is gone): the others drop it from the members, 6/6
    await m.deletePod(owner.name);
    await waitUntil(async () => {
      const c = await m.shardMasters(survivors);
      return c && [...c.values()].every((x) => x === 6) ? c : undefined;
    }, 'shards over the two survivors', 60_000, 500);

    // a fourth node joins: no restart of the others, it takes its share (12 / 3 = 4)
    const pids = survivors.map((n) => m.node(n).daemon!.pid);
    await m.addNode({ name: 'n4', index: 4, uplink: 'ens5', annotations: { 'edgelb.io/interface': 'ens5' } });
    await m.startDaemon('n4');
    await waitUntil(() => m.ha('n4'), 'API of n4', 60_000, 300);
    await m.markReady('n4');
    const four = await waitUntil(async () => {
      const c = await m.shardMasters([...survivors, 'n4']);
      return c && [...c.values()].every((x) => x === 4) ? c : undefined;
    }, 'shards spread over the survivors and n4', 90_000, 500);
    assert.equal(four.get('n4'), 4);
    assert.deepEqual(survivors.map((n) => m.node(n).daemon!.pid), pids);
    assert.ok(survivors.every((n) => m.node(n).daemon!.running), 'no daemon restarted');
    const macs = await waitUntil(async () => {
      const l = await m.arpMacs(l2vip);
      return l.length === 1 ? l : undefined;
    }, 'one ARP owner with four members', 30_000, 300);
    assert.equal(macs.length, 1);
    process.stdout.write(`# multi-node k8s lab: ${Math.round((Date.now() - t0) / 1000)} s\n`);
  } catch (e) {
    process.stdout.write(m.logs(40) + '\n');
    throw e;
  } finally {
    await m.teardown();
  }
});
