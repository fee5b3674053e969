// Faults visible where users look, against a real kube-apiserver and the real daemon peering with
// BIRD: (1) edgelb.io/Served follows what the node carries — True while its BGP session is
// Established and the VIP was sent, False (NoBGPSession) when the router drops the session, True
// again when it comes back — through the node's NodeReport; (2) `edgelb get vips --all-nodes`
// reaches the node's views listener through the API server's pods/proxy with the user's
// kubeconfig, and a node that does not answer is an error row (the API server dials a root-
// namespace veth address: it refuses to proxy to loopback).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { startTestCluster, freePort, EDGELB_NAMESPACE } from './harness.js';
import { clients, condition, createPool, installBase, lbService, ROOT, waitUntil, ensureNamespace } from './lib.js';
import { Lab, edgeTopology, BirdRouter, run, LabProcess, birdProtocolName } from '../lab/lib/index.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

const HOST_IF = 'svdelb0'; // root-namespace end of the link to the lab's bridge
const HOST_ADDR = '10.79.0.2';
const ROUTER_ADDR = '10.79.0.1';
const NODE = 'svd-edge';
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (e, out, err) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

test('k8s served: Served follows the BGP session through the NodeReport; get --all-nodes goes through pods/proxy', { timeout: 300_000 }, async () => {
  const cluster = await startTestCluster();
  const lab = await Lab.create(edgeTopology({ prefix: 'svd', nodes: 0, backends: 0, client: false, ipv6: false }));
  let daemon: LabProcess | undefined;
  try {
    const admin = clients(cluster.adminKubeconfig);
    await installBase(admin);
    await run(['ip', 'link', 'del', HOST_IF], { check: false });
    await run(['ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', 'svdup', 'netns', lab.netns('router')]);
    await lab.ip('router', ['link', 'set', 'dev', 'svdup', 'master', 'br0', 'up']);
    await lab.addAddress('router', 'br0', `${ROUTER_ADDR}/24`);
    await run(['ip', 'addr', 'add', `${HOST_ADDR}/24`, 'dev', HOST_IF]);
    await run(['ip', 'link', 'set', 'dev', HOST_IF, 'up']);
    const neighbor = { address: HOST_ADDR, asn: 64513, holdTime: 9, connectRetry: 1 };
    const bird = await BirdRouter.start(lab, 'router', { asn: 64512, routerId: ROUTER_ADDR, neighbors: [neighbor] });

    const viewsPort = await freePort();
    await admin.core.createNode({ body: { metadata: { name: NODE } } });
    await admin.core.patchNodeStatus({ name: NODE, body: { status: { addresses: [{ type: 'InternalIP', address: HOST_ADDR }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test', lastHeartbeatTime: new Date(), lastTransitionTime: new Date() }] } } }, merge());
    const pod = `edgelb-${NODE}`;
    const container = (port: number) => [{ name: 'edgelb', image: 'edgelb:test', ports: [{ name: 'views', containerPort: port }] }];
    await admin.core.createNamespacedPod({ namespace: EDGELB_NAMESPACE, body: { metadata: { name: pod, labels: { 'app.kubernetes.io/name': 'edgelb' } }, spec: { nodeName: NODE, hostNetwork: true, containers: container(viewsPort) } } });
    await admin.core.patchNamespacedPodStatus({ namespace: EDGELB_NAMESPACE, name: pod, body: { status: { phase: 'Running', podIP: HOST_ADDR, podIPs: [{ ip: HOST_ADDR }], hostIP: HOST_ADDR, conditions: [{ type: 'Ready', status: 'True' }] } } }, merge());

    const cfg = lab.writeFile('edgelb.yaml', `node: { interface: ${HOST_IF}, routerId: ${HOST_ADDR} }\napi: { listen: 127.0.0.1:0, viewsListen: ${HOST_ADDR}:${viewsPort} }\nbgp: { asn: 64513, listenPort: 0 }\ndataplane: { enabled: false }\n`);
    daemon = await LabProcess.start('edgelb-svd', undefined, [process.execPath, '--single-threaded-gc', join(ROOT, 'dist/cli/main.js'), 'daemon', '--kubernetes', '--controller', '--config', cfg], lab.path('edgelb-svd.log'), {
      env: { ...process.env, KUBECONFIG: cluster.edgelbKubeconfig, NODE_NAME: NODE, POD_NAME: pod, POD_NAMESPACE: EDGELB_NAMESPACE },
    });

    await admin.custom.createClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', body: { apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { address: ROUTER_ADDR, asn: 64512 } } });
    await createPool(admin, 'edge', { cidrs: ['192.168.91.0/28'], announce: 'bgp' });
    await ensureNamespace(admin, 'web');
    await admin.core.createNamespacedService({ namespace: 'web', body: lbService('web', 'shop') });
    await admin.discovery.createNamespacedEndpointSlice({
      namespace: 'web',
      body: { metadata: { name: 'shop-1', labels: { 'kubernetes.io/service-name': 'shop' } }, addressType: 'IPv4', ports: [{ name: 'p0', port: 80, protocol: 'TCP' }], endpoints: [{ addresses: ['10.79.0.50'], nodeName: NODE, conditions: { ready: true } }] },
    });
    const served = (status: string, reason: string) => async () => {
      const c = condition(await admin.core.readNamespacedService({ namespace: 'web', name: 'shop' }));
      return c?.status === status && c.reason === reason ? c : undefined;
    };

    // (1) carried: True, naming the node, and the NodeReport says what it carries
    const up = await waitUntil(served('True', 'Served'), 'Served=True with the session up', 90_000, 300);
    const ip = (await admin.core.readNamespacedService({ namespace: 'web', name: 'shop' })).status!.loadBalancer!.ingress![0]!.ip!;
    assert.match(up.message!, new RegExp(`^${ip.replace(/\./g, '\\.')} from pool edge, shard 0, .*; carried by BGP from ${NODE}$`));
    await bird.waitRoute(`${ip}/32`, (r) => r.nexthops.includes(HOST_ADDR), { timeoutMs: 30_000 });
    const report = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'nodereports', name: NODE })) as { metadata: { ownerReferences?: Array<{ kind: string; name: string }> }; status: { bgp: string[]; sessions: string; established: string[]; pod: string } };
    assert.deepEqual(report.status.bgp, [ip]);
    assert.equal(report.status.sessions, '1/1');
    assert.equal(report.status.pod, pod);
    assert.deepEqual(report.metadata.ownerReferences?.map((o) => [o.kind, o.name]), [['Node', NODE]]);

    // the router drops the session: no node carries the VIP any more
    await bird.birdc(`disable ${birdProtocolName(neighbor)}`);
    const down = await waitUntil(served('False', 'NoBGPSession'), 'Served=False with the session down', 60_000, 300);
    assert.equal(down.message, `${ip} from pool edge, shard 0: no BGP session Established on any node (peers configured on ${NODE})`);
    const warned = await waitUntil(async () => (await admin.core.listNamespacedEvent({ namespace: 'web' })).items.find((e) => e.reason === 'NoBGPSession' && e.type === 'Warning'), 'a Warning Event', 30_000, 300);
    assert.match(warned.message!, /no BGP session Established/);

    // back: True again
    await bird.birdc(`enable ${birdProtocolName(neighbor)}`);
    await waitUntil(served('True', 'Served'), 'Served=True with the session back', 90_000, 300);
    // while nothing changes, the node writes nothing (the report is checked every second)
    const rv = async () => ((await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'nodereports', name: NODE })) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const rv0 = await rv();
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(await rv(), rv0, 'no NodeReport write while the node carries the same');

    // (2) --all-nodes through the API server: this node answers; a second pod whose views port is
    // closed is an error row, not a crash (exit 69)
    const closed = await freePort();
    await admin.core.createNamespacedPod({ namespace: EDGELB_NAMESPACE, body: { metadata: { name: 'edgelb-ghost', labels: { 'app.kubernetes.io/name': 'edgelb' } }, spec: { nodeName: 'svd-ghost', hostNetwork: true, containers: container(closed) } } });
    await admin.core.patchNamespacedPodStatus({ namespace: EDGELB_NAMESPACE, name: 'edgelb-ghost', body: { status: { phase: 'Running', podIP: HOST_ADDR, podIPs: [{ ip: HOST_ADDR }], hostIP: HOST_ADDR } } }, merge());
    const json = await cli(['get', 'vips', '--all-nodes', '--kubeconfig', cluster.adminKubeconfig, '-o', 'json']);
    assert.equal(json.code, 69, json.err);
    const answers = JSON.parse(json.out) as Array<{ node: string; pod: string; body?: Array<{ vip: string; bgp: { announced: boolean } }>; error?: string }>;
    assert.deepEqual(answers.map((a) => a.node), ['svd-edge', 'svd-ghost']);
    assert.deepEqual(answers[0]!.body?.map((v) => [v.vip, v.bgp.announced]), [[ip, true]]);
    assert.match(answers[1]!.error!, /^50[23]: .*(refused|dial)/);
    const table = await cli(['get', 'vips', '--all-nodes', '--kubeconfig', cluster.adminKubeconfig]);
    assert.equal(table.code, 69);
    const lines = table.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^NODE {7}VIP /);
    assert.match(lines[1]!, new RegExp(`^svd-edge {3}${ip.replace(/\./g, '\\.')} +web/shop +edge +0 .* yes `));
    assert.match(lines[2]!, /^svd-ghost {2}error: 50[23]: /);
    assert.match(table.err, /1 of 2 node\(s\) did not answer/);
    // the user's RBAC decides: the edgelb ServiceAccount may not use pods/proxy
    const sa = await cli(['get', 'ha', '--all-nodes', '--kubeconfig', cluster.edgelbKubeconfig, '-o', 'json']);
    const saAnswers = JSON.parse(sa.out) as Array<{ error?: string }>;
    assert.ok(saAnswers.every((a) => /^403: .*pods\/proxy/.test(a.error ?? '')), sa.out);
  } catch (e) {
    process.stdout.write(lab.logs(30) + '\n--- edgelb ---\n' + (daemon?.output().split('\n').slice(-40).join('\n') ?? '') + '\n');
    throw e;
  } finally {
    await daemon?.stop('SIGTERM', 3000);
    await run(['ip', 'link', 'del', HOST_IF], { check: false });
    await lab.teardown();
    await cluster.stop();
  }
});
