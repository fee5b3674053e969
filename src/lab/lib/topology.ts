// Lab: the declarative topology description, and a ready-made edge topology (router + bridge, edge nodes, backends, client).

export type NodeRole = 'router' | 'node' | 'backend' | 'client' | 'other';

export interface BridgeSpec {
  /** interface name inside the node's namespace (≤ 15 chars) */
  name: string;
  /** addresses with prefix length, IPv4 or IPv6, e.g. '10.0.0.1/24', 'fd00::1/64' */
  addrs?: string[];
}

export interface RouteSpec {
  /** 'default' or a prefix; the family of `via` (or of `to`) picks IPv4 or IPv6 */
  to: string;
  via?: string;
  dev?: string;
  metric?: number;
}

export interface NodeSpec {
  /** logical name, [a-z0-9]{1,12}; the namespace is named `<prefix>-<run>-<name>` */
  name: string;
  role?: NodeRole;
  /** IPv4 and IPv6 forwarding on (routers) */
  forwarding?: boolean;
  bridges?: BridgeSpec[];
  /** addresses put on lo (e.g. a VIP for DSR backends), with prefix length */
  loopback?: string[];
  /** routes added once every link is up */
  routes?: RouteSpec[];
  /** extra sysctls, set after the defaults (e.g. { 'net.ipv4.conf.all.rp_filter': 0 }) */
  sysctls?: Record<string, string | number>;
}

export interface LinkEnd {
  node: string;
  /** interface name inside that node's namespace (≤ 15 chars; names are per namespace, so 'eth0' everywhere is fine) */
  ifname: string;
  addrs?: string[];
  /** enslave this end to a bridge of the same node */
  bridge?: string;
  /** `ethtool -K IF tx off` (senders on veth: otherwise XDP sees partial checksums) */
  txOffloadOff?: boolean;
  mac?: string;
}

export interface LinkSpec {
  a: LinkEnd;
  b: LinkEnd;
  mtu?: number;
}

export interface LabSpec {
  /** short caller prefix, [a-z][a-z0-9]{0,7} (e.g. 'bgp', 'xdp', 'l2', 'demo') */
  prefix: string;
  nodes: NodeSpec[];
  links?: LinkSpec[];
}

export interface EdgeTopologyOptions {
  prefix: string;
  /** edge nodes node1..nodeN (default 2) */
  nodes?: number;
  /** backends be1..beM on the same bridge (default 0) */
  backends?: number;
  /** a client namespace behind the router on its own link (default true) */
  client?: boolean;
  /** add the IPv6 addresses and routes (default true) */
  ipv6?: boolean;
  /** tx offload off on the client's and the nodes' interfaces (default true) */
  txOffloadOff?: boolean;
}

/**
 * The edge topology's address plan (all inside the lab's namespaces):
 *   router  br0 10.0.0.1/24 fd00::1/64 (LAN: nodes + backends), cl0 10.100.0.1/24 fd00:100::1/64 (client link)
 *   nodeI   eth0 10.0.0.(10+I)/24 fd00::(10+I)/64, default via the router   (node1 = 10.0.0.11)
 *   beJ     eth0 10.0.0.(100+J)/24 fd00::(100+J)/64, default via the router (be1 = 10.0.0.101)
 *   client  eth0 10.100.0.2/24 fd00:100::2/64, default via 10.100.0.1
 * The router's side of each veth is named after the peer node (e.g. 'node1', 'be1', 'cl0').
 */
export const edgePlan = {
  router: { name: 'router', bridge: 'br0', lan4: '10.0.0.1', lan6: 'fd00::1', client4: '10.100.0.1', client6: 'fd00:100::1', clientIf: 'cl0' },
  node: (i: number) => ({ name: `node${i}`, ifname: 'eth0', v4: `10.0.0.${10 + i}`, v6: `fd00::${10 + i}` }),
  backend: (j: number) => ({ name: `be${j}`, ifname: 'eth0', v4: `10.0.0.${100 + j}`, v6: `fd00::${100 + j}` }),
  client: { name: 'client', ifname: 'eth0', v4: '10.100.0.2', v6: 'fd00:100::2' },
  lanLen4: 24,
  lanLen6: 64,
} as const;

/** Build the LabSpec of the standard edge topology (see edgePlan for names and addresses). */
export function edgeTopology(opts: EdgeTopologyOptions): LabSpec {
  const n = opts.nodes ?? 2;
  const m = opts.backends ?? 0;
  const v6 = opts.ipv6 ?? true;
  const txOff = opts.txOffloadOff ?? true;
  if (n < 0 || n > 80 || m < 0 || m > 99) throw new Error('edgeTopology: 0..80 nodes and 0..99 backends');
  const r = edgePlan.router;
  const addrs = (a4: string, a6: string, l4: number, l6: number) => (v6 ? [`${a4}/${l4}`, `${a6}/${l6}`] : [`${a4}/${l4}`]);
  const defaults = (gw4: string, gw6: string): RouteSpec[] =>
    v6 ? [{ to: 'default', via: gw4 }, { to: 'default', via: gw6 }] : [{ to: 'default', via: gw4 }];

  const router: NodeSpec = {
    name: r.name,
    role: 'router',
    forwarding: true,
    bridges: [{ name: r.bridge, addrs: addrs(r.lan4, r.lan6, 24, 64) }],
  };
  const nodes: NodeSpec[] = [router];
  const links: LinkSpec[] = [];
  for (let i = 1; i <= n; i++) {
    const p = edgePlan.node(i);
    nodes.push({ name: p.name, role: 'node', routes: defaults(r.lan4, r.lan6) });
    links.push({
      a: { node: p.name, ifname: p.ifname, addrs: addrs(p.v4, p.v6, 24, 64), txOffloadOff: txOff },
      b: { node: r.name, ifname: p.name, bridge: r.bridge },
    });
  }
  for (let j = 1; j <= m; j++) {
    const p = edgePlan.backend(j);
    nodes.push({ name: p.name, role: 'backend', routes: defaults(r.lan4, r.lan6) });
    links.push({
      a: { node: p.name, ifname: p.ifname, addrs: addrs(p.v4, p.v6, 24, 64) },
      b: { node: r.name, ifname: p.name, bridge: r.bridge },
    });
  }
  if (opts.client ?? true) {
    const c = edgePlan.client;
    nodes.push({ name: c.name, role: 'client', routes: defaults(r.client4, r.client6) });
    links.push({
      a: { node: c.name, ifname: c.ifname, addrs: addrs(c.v4, c.v6, 24, 64), txOffloadOff: txOff },
      b: { node: r.name, ifname: r.clientIf, addrs: addrs(r.client4, r.client6, 24, 64) },
    });
  }
  return { prefix: opts.prefix, nodes, links };
}

/** Address without its prefix length. */
export function hostOf(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

export function isV6(addr: string): boolean {
  return addr.includes(':');
}
