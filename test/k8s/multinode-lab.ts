// A reusable multi-node Kubernetes lab: a real kube-apiserver (on the root namespace's loopback,
// reached from the lab through a TCP relay on the lab LAN), a BIRD router, and edge nodes, each a
// network namespace with an uplink that is a renamed veth (eno1, bond0, ...), a Node object (with
// optional edgelb.io/* annotations), an edgelb pod object and a real `edgelb daemon --kubernetes`.
// The ConfigMap-like settings file has no cluster section: membership, shards and the cluster key
// (cluster/key beside the file) are Kubernetes mode's defaults. Other test files build on it
// (e.g. a Lease-holder kill): start(), addNode(), startDaemon(), markReady(), kill(), ha(),
// vips(), arpMacs(), teardown(). Everything is removed in teardown(), also after a failure.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startTestCluster, EDGELB_NAMESPACE, type TestCluster } from './harness.js';
import { clients, installBase, ROOT, type Clients } from './lib.js';
import { Lab, BirdRouter, LabProcess, run, type NeighborConfig } from '../lab/lib/index.js';

export const LAN = { prefix: '10.78.0', len: 24, router: '10.78.0.1', host: '10.78.0.254' } as const;
export const ROUTER_ASN = 64512;
export const DEFAULT_ASN = 64513;
const HOST_IF = 'mnelb0'; // root-namespace end of the link to the lab bridge (the API relay listens here)
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface EdgeNodeDef {
  /** lab node name ([a-z0-9]{1,12}); the Node object is `mn-<name>` */
  name: string;
  /** 1..200: the node's LAN address is 10.78.0.(10+index) */
  index: number;
  /** the uplink's name after the rename (eno1, bond0, ...) */
  uplink: string;
  /** Node annotations (edgelb.io/interface, edgelb.io/asn, edgelb.io/router-id, ...) */
  annotations?: Record<string, string>;
  /** the ASN BIRD expects from this node (default DEFAULT_ASN) */
  asn?: number;
}

export interface HaView {
  node: string;
  shards: Array<{ shard: number; state: 'MASTER' | 'BACKUP'; master: string | null; epoch: number }>;
}
export interface VipRow {
  vip: string;
  shard: number;
  master?: string | null;
  [k: string]: unknown;
}

export interface EdgeNode extends EdgeNodeDef {
  nodeName: string;
  podName: string;
  addr: string;
  mac: string;
  daemon?: LabProcess;
}

/** The settings file every node mounts (the ConfigMap): no cluster section on purpose. */
export const SETTINGS_YAML = `node: { interface: eth0 }\napi: { listen: 127.0.0.1:11111 }\nbgp: { asn: ${DEFAULT_ASN}, listenPort: 0 }\ndataplane: { enabled: false }\n`;

export class MultiNodeLab {
  readonly nodes = new Map<string, EdgeNode>();
  private relay: Server | undefined;
  private readonly sockets = new Set<Socket>();
  settingsPath = '';
  kubeconfig = '';

  private constructor(
    readonly cluster: TestCluster,
    readonly admin: Clients,
    readonly lab: Lab,
    public bird: BirdRouter | undefined,
  ) {}

  /** API server, CRDs and RBAC, the router namespace with its bridge, BIRD, and the given nodes (daemons not started). */
  static async start(opts: { prefix?: string; nodes: EdgeNodeDef[]; medMetric?: boolean; settings?: (keyFile: string) => string }): Promise<MultiNodeLab> {
    const cluster = await startTestCluster();
    let lab: Lab | undefined;
    try {
      lab = await Lab.create({ prefix: opts.prefix ?? 'mn', nodes: [{ name: 'router', role: 'router', forwarding: true, bridges: [{ name: 'br0', addrs: [`${LAN.router}/${LAN.len}`] }] }], links: [] });
      const admin = clients(cluster.adminKubeconfig);
      await installBase(admin);
      const m = new MultiNodeLab(cluster, admin, lab, undefined);
      await m.hostLink();
      await m.startRelay();
      // another settings file (e.g. with a cluster section) gets the key file's path
      m.settingsPath = lab.writeFile('edgelb.yaml', opts.settings ? opts.settings(lab.path('cluster/key')) : SETTINGS_YAML);
      // the cluster key, where Kubernetes mode looks without a cluster section (the chart's Secret mount)
      mkdirSync(lab.path('cluster'), { recursive: true });
      writeFileSync(lab.path('cluster/key'), randomBytes(32).toString('hex'), { mode: 0o600 });
      for (const d of opts.nodes) await m.addNode(d);
      m.bird = await BirdRouter.start(lab, 'router', m.birdOptions(opts.medMetric ?? true));
      m.medMetric = opts.medMetric ?? true;
      return m;
    } catch (e) {
      await lab?.teardown();
      await run(['ip', 'link', 'del', HOST_IF], { check: false });
      await cluster.stop();
      throw e;
    }
  }

  private medMetric = true;

  private birdOptions(medMetric: boolean) {
    const neighbors: NeighborConfig[] = [...this.nodes.values()].map((n) => ({ address: n.addr, asn: n.asn ?? DEFAULT_ASN, holdTime: 9, connectRetry: 1, name: `n_${n.name}` }));
    return { asn: ROUTER_ASN, routerId: LAN.router, neighbors, medMetric };
  }

  /** A veth from the root namespace (where the API server listens on loopback) to the lab bridge. */
  private async hostLink(): Promise<void> {
    await run(['ip', 'link', 'del', HOST_IF], { check: false });
    await run(['ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', 'mnup', 'netns', this.lab.netns('router')]);
    await this.lab.ip('router', ['link', 'set', 'dev', 'mnup', 'master', 'br0', 'up']);
    await run(['ip', 'addr', 'add', `${LAN.host}/${LAN.len}`, 'dev', HOST_IF]);
    await run(['ip', 'link', 'set', 'dev', HOST_IF, 'up']);
  }

  /** A TCP relay on the lab LAN to the API server (TLS passes through untouched), and a kubeconfig for it. */
  private async startRelay(): Promise<void> {
    const api = new URL(this.cluster.server);
    const relay = createServer((c) => {
      const u = connect(Number(api.port), api.hostname);
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => (c.destroy(), u.destroy()));
      }
      c.pipe(u);
      u.pipe(c);
    });
    await new Promise<void>((resolve, reject) => {
      relay.once('error', reject);
      relay.listen(0, LAN.host, () => resolve());
    });
    this.relay = relay;
    const port = (relay.address() as { port: number }).port;
    // the API server's certificate names 127.0.0.1, not the relay's address: skip the check (lab only)
    this.kubeconfig = this.lab.writeFile(
      'edgelb-lab.kubeconfig',
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: lab`,
        `  cluster: { server: "https://${LAN.host}:${port}", insecure-skip-tls-verify: true }`,
        'users:',
        `- name: edgelb`,
        `  user: { token: "${this.cluster.edgelbToken}" }`,
        'contexts:',
        `- name: edgelb@lab`,
        `  context: { cluster: lab, user: edgelb }`,
        `current-context: edgelb@lab`,
        '',
      ].join('\n'),
    );
  }

  /** The node's namespace with its renamed uplink on the bridge, and its Node object (no pod yet). */
  async addNode(d: EdgeNodeDef): Promise<EdgeNode> {
    const addr = `${LAN.prefix}.${10 + d.index}`;
    await this.lab.addNode({ name: d.name, role: 'node' });
    await this.lab.addLink({ a: { node: d.name, ifname: 'eth0', addrs: [`${addr}/${LAN.len}`] }, b: { node: 'router', ifname: d.name, bridge: 'br0' } });
    if (d.uplink !== 'eth0') {
      // a renamed veth stands in for eno1 / bond0 (this kernel has no bonding or VLAN devices)
      await this.lab.ip(d.name, ['link', 'set', 'dev', 'eth0', 'down']);
      await this.lab.ip(d.name, ['link', 'set', 'dev', 'eth0', 'name', d.uplink]);
      await this.lab.ip(d.name, ['link', 'set', 'dev', d.uplink, 'up']);
    }
    const link = JSON.parse((await this.lab.ip(d.name, ['-j', 'link', 'show', 'dev', d.uplink])).stdout) as Array<{ address: string }>;
    const nodeName = `mn-${d.name}`;
    await this.admin.core.createNode({ body: { metadata: { name: nodeName, ...(d.annotations ? { annotations: d.annotations } : {}) } } });
    await this.admin.core.patchNodeStatus(
      { name: nodeName, body: { status: { addresses: [{ type: 'InternalIP', address: addr }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test', lastHeartbeatTime: new Date(), lastTransitionTime: new Date() }] } } },
      merge(),
    );
    const n: EdgeNode = { ...d, nodeName, podName: `edgelb-${nodeName}`, addr, mac: link[0]!.address.toLowerCase() };
    this.nodes.set(d.name, n);
    if (this.bird) await this.bird.reconfigure(this.birdOptions(this.medMetric));
    return n;
  }

  /** Start `edgelb daemon --kubernetes --controller` in the node's namespace, as the all-in-one DaemonSet runs it. */
  async startDaemon(name: string, extraArgs: string[] = []): Promise<LabProcess> {
    const n = this.node(name);
    n.daemon = await this.lab.spawn(name, [process.execPath, '--single-threaded-gc', join(ROOT, 'dist/cli/main.js'), 'daemon', '--kubernetes', '--controller', '--config', this.settingsPath, ...extraArgs], {
      name: `edgelb-${name}`,
      env: { KUBECONFIG: this.kubeconfig, NODE_NAME: n.nodeName, POD_NAME: n.podName, POD_NAMESPACE: EDGELB_NAMESPACE },
    });
    return n.daemon;
  }

  /** The edgelb pod object of the node, Ready as the kubelet reports it once /readyz answers. */
  async markReady(name: string): Promise<void> {
    const n = this.node(name);
    await this.admin.core.createNamespacedPod({
      namespace: EDGELB_NAMESPACE,
      body: { metadata: { name: n.podName, labels: { 'app.kubernetes.io/name': 'edgelb' } }, spec: { nodeName: n.nodeName, hostNetwork: true, containers: [{ name: 'edgelb', image: 'edgelb:test' }] } },
    });
    await this.admin.core.patchNamespacedPodStatus(
      { namespace: EDGELB_NAMESPACE, name: n.podName, body: { status: { phase: 'Running', podIP: n.addr, podIPs: [{ ip: n.addr }], hostIP: n.addr, conditions: [{ type: 'Ready', status: 'True' }] } } },
      merge(),
    );
  }

  /** The pod is gone (its node died and the pod was deleted). */
  async deletePod(name: string): Promise<void> {
    await this.admin.core.deleteNamespacedPod({ namespace: EDGELB_NAMESPACE, name: this.node(name).podName, gracePeriodSeconds: 0 });
  }

  /** SIGKILL the node's daemon (a crashed or dead node: nothing is withdrawn). */
  async kill(name: string): Promise<void> {
    await this.node(name).daemon?.stop('SIGKILL', 1000);
  }

  node(name: string): EdgeNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Name of the lab node whose Node object is `nodeName`. */
  byNodeName(nodeName: string): EdgeNode | undefined {
    return [...this.nodes.values()].find((n) => n.nodeName === nodeName);
  }

  private async get<T>(name: string, path: string): Promise<T> {
    const r = await this.lab.exec(name, ['curl', '-sf', '--max-time', '2', `http://127.0.0.1:11111${path}`]);
    return JSON.parse(r.stdout) as T;
  }

  /** GET /v1/ha of the node's daemon. */
  ha(name: string): Promise<HaView> {
    return this.get<HaView>(name, '/v1/ha');
  }

  vips(name: string): Promise<VipRow[]> {
    return this.get<VipRow[]>(name, '/v1/vips');
  }

  /** Shards each running node masters, by lab node name; undefined while the nodes disagree or a shard has not exactly one master. */
  async shardMasters(names: string[]): Promise<Map<string, number> | undefined> {
    const views = await Promise.all(names.map((n) => this.ha(n)));
    const count = new Map<string, number>(names.map((n) => [n, 0]));
    const shards = views[0]!.shards.length;
    for (let s = 0; s < shards; s++) {
      const masters = names.filter((_, i) => views[i]!.shards[s]?.state === 'MASTER');
      if (masters.length !== 1) return undefined;
      const want = this.node(masters[0]!).nodeName;
      if (!views.every((v) => v.shards[s]?.master === want)) return undefined;
      count.set(masters[0]!, count.get(masters[0]!)! + 1);
    }
    return count;
  }

  /** The MACs that answer an ARP request for `ip` on the LAN (from the router's bridge), lower case, deduplicated. */
  async arpMacs(ip: string, count = 3): Promise<string[]> {
    const r = await this.lab.exec('router', ['arping', '-c', String(count), '-w', String(count + 1), '-I', 'br0', ip], { check: false });
    return [...new Set([...r.stdout.matchAll(/reply from \S+ \[([0-9a-f:]{17})\]/gi)].map((m) => m[1]!.toLowerCase()))].sort();
  }

  /** The node whose uplink has this MAC. */
  byMac(mac: string): EdgeNode | undefined {
    return [...this.nodes.values()].find((n) => n.mac === mac);
  }

  /** Logs of every process, the last lines each (print on failure). */
  logs(lines = 40): string {
    return this.lab.logs(lines);
  }

  async teardown(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.relay ? this.relay.close(() => r()) : r()));
    await this.lab.teardown();
    await run(['ip', 'link', 'del', HOST_IF], { check: false });
    await this.cluster.stop();
  }
}
