// The real daemon in Kubernetes mode, all in one (`edgelb daemon --kubernetes --controller`) against a real kube-apiserver,
// peering with a BIRD router in a lab namespace. A BGPPeer object brings the session up, the
// BGPPeer status shows it for this node, an IPPool + LoadBalancer Service get an address that the
// router learns from the node, and deleting the Service withdraws it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTestCluster, EDGELB_NAMESPACE } from './harness.js';
import { clients, createPool, installBase, lbService, ROOT, waitUntil, ensureNamespace } from './lib.js';
import { Lab, edgeTopology, BirdRouter, run, LabProcess } from '../lab/lib/index.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

const HOST_IF = 'k8selb0'; // root-namespace end of the link to the lab's bridge
const HOST_ADDR = '10.77.0.2';
const ROUTER_ADDR = '10.77.0.1';
const NODE = 'k8s-edge';
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

test('k8s daemon: BGPPeer → session with BIRD, status per node, a LoadBalancer Service announced and withdrawn', { timeout: 240_000 }, async () => {
  const cluster = await startTestCluster();
  const lab = await Lab.create(edgeTopology({ prefix: 'k8d', nodes: 0, backends: 0, client: false, ipv6: false }));
  let daemon: LabProcess | undefined;
  try {
    const admin = clients(cluster.adminKubeconfig);
    await installBase(admin);
    // a veth from the root namespace (where the API server listens on loopback) to the lab bridge
    await run(['ip', 'link', 'del', HOST_IF], { check: false });
    await run(['ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', 'k8sup', 'netns', lab.netns('router')]);
    await lab.ip('router', ['link', 'set', 'dev', 'k8sup', 'master', 'br0', 'up']);
    await lab.addAddress('router', 'br0', `${ROUTER_ADDR}/24`);
    await run(['ip', 'addr', 'add', `${HOST_ADDR}/24`, 'dev', HOST_IF]);
    await run(['ip', 'link', 'set', 'dev', HOST_IF, 'up']);

    const bird = await BirdRouter.start(lab, 'router', { asn: 64512, routerId: ROUTER_ADDR, neighbors: [{ address: HOST_ADDR, asn: 64513, holdTime: 9, connectRetry: 1 }] });

    // this node and its edgelb pod, as the kubelet would report them
    await admin.core.createNode({ body: { metadata: { name: NODE } } });
    await admin.core.patchNodeStatus({ name: NODE, body: { status: { addresses: [{ type: 'InternalIP', address: HOST_ADDR }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test', lastHeartbeatTime: new Date(), lastTransitionTime: new Date() }] } } }, merge());
    const pod = `edgelb-${NODE}`;
    await admin.core.createNamespacedPod({ namespace: EDGELB_NAMESPACE, body: { metadata: { name: pod, labels: { 'app.kubernetes.io/name': 'edgelb' } }, spec: { nodeName: NODE, hostNetwork: true, containers: [{ name: 'edgelb', image: 'edgelb:test' }] } } });
    await admin.core.patchNamespacedPodStatus({ namespace: EDGELB_NAMESPACE, name: pod, body: { status: { phase: 'Running', podIP: HOST_ADDR, podIPs: [{ ip: HOST_ADDR }], hostIP: HOST_ADDR, conditions: [{ type: 'Ready', status: 'True' }] } } }, merge());

    // the ConfigMap-mounted node settings, and the daemon as the DaemonSet runs it
    const cfg = lab.writeFile('edgelb.yaml', `node: { interface: ${HOST_IF}, routerId: ${HOST_ADDR} }\napi: { listen: 127.0.0.1:0 }\nbgp: { asn: 64513, listenPort: 0 }\ndataplane: { enabled: false }\n`);
    // in the root namespace: the API server listens on its loopback
    daemon = await LabProcess.start('edgelb-k8s', undefined, [process.execPath, '--single-threaded-gc', join(ROOT, 'dist/cli/main.js'), 'daemon', '--kubernetes', '--controller', '--config', cfg], lab.path('edgelb-k8s.log'), {
      env: { ...process.env, KUBECONFIG: cluster.edgelbKubeconfig, NODE_NAME: NODE, POD_NAME: pod, POD_NAMESPACE: EDGELB_NAMESPACE },
    });

    // a BGPPeer brings the session up, and its status says so for this node
    await admin.custom.createClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', body: { apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { address: ROUTER_ADDR, asn: 64512 } } });
    await bird.waitEstablished([HOST_ADDR], { timeoutMs: 60_000 });
    const status = await waitUntil(async () => {
      const o = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', name: 'tor' })) as { status?: { summary?: string; nodes?: Array<{ node: string; state: string }> } };
      return o.status?.summary === `${NODE}=Established` ? o.status : undefined;
    }, 'BGPPeer status from the daemon', 60_000, 300);
    assert.deepEqual(status.nodes?.map((n) => [n.node, n.state]), [[NODE, 'Established']]);

    // an IPPool and a LoadBalancer Service: the address reaches the router through this node
    await createPool(admin, 'edge', { cidrs: ['192.168.90.0/28'], announce: 'bgp' });
    await ensureNamespace(admin, 'web');
    await admin.core.createNamespacedService({ namespace: 'web', body: lbService('web', 'shop') });
    // a ready endpoint: a Service with none is not announced (its VIP would black-hole traffic)
    await admin.discovery.createNamespacedEndpointSlice({
      namespace: 'web',
      body: {
        metadata: { name: 'shop-1', labels: { 'kubernetes.io/service-name': 'shop' } },
        addressType: 'IPv4',
        ports: [{ name: 'p0', port: 80, protocol: 'TCP' }],
        endpoints: [{ addresses: ['10.77.0.50'], nodeName: NODE, conditions: { ready: true } }],
      },
    });
    const ip = await waitUntil(async () => (await admin.core.readNamespacedService({ namespace: 'web', name: 'shop' })).status?.loadBalancer?.ingress?.[0]?.ip, 'ingress IP', 60_000, 300);
    assert.match(ip, /^192\.168\.90\./);
    const route = await bird.waitRoute(`${ip}/32`, (r) => r.nexthops.includes(HOST_ADDR), { timeoutMs: 60_000 });
    assert.deepEqual(route.nexthops, [HOST_ADDR]);
    await admin.core.deleteNamespacedService({ namespace: 'web', name: 'shop' });
    await bird.waitNoRoute(`${ip}/32`, { timeoutMs: 60_000 });
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
