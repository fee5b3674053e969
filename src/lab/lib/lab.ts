// Lab: a running topology of network namespaces (create, exec/spawn inside, links up/down, FIB reads, teardown).
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, inNetns, type ExecOptions, type ExecResult } from './exec.js';
import { LabProcess, type SpawnOptions } from './process.js';
import { OwnershipRecord, cleanupStale, destroyNetnsSync, killPidsSync, netnsPidsSync } from './ownership.js';
import { parseIpRouteJson, normalizePrefix, type FibRoute } from './fib.js';
import { waitUntil, type WaitOptions } from './wait.js';
import { hostOf, isV6, type LabSpec, type LinkSpec, type NodeSpec, type RouteSpec } from './topology.js';

const PREFIX_RE = /^[a-z][a-z0-9]{0,7}$/;
const NODE_RE = /^[a-z0-9]{1,12}$/;
const IFNAME_MAX = 15;

/** Something with a lifetime bound to the lab (routers, helpers); stopped first on teardown. */
export interface LabResource {
  readonly name: string;
  stop(): Promise<void>;
}

export interface LabNode {
  name: string;
  /** the real namespace name: use `nsenter --net=/run/netns/<netns>` */
  netns: string;
  role: string;
  /** every address configured on the node's links/bridges, with prefix length */
  addrs: string[];
}

export interface LabCreateOptions {
  /** remove leftovers of dead runs first (default true) */
  cleanupStale?: boolean;
}

let seq = 0;
const liveLabs = new Set<Lab>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.teardownSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      for (const lab of liveLabs) lab.teardownSync();
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

export class Lab {
  /** the caller's prefix ('bgp', 'xdp', …) */
  readonly prefix: string;
  /** unique per lab: `<prefix>-<pid base36><seq>`; every namespace name starts with it */
  readonly tag: string;
  /** scratch directory for configs, sockets and logs (removed on teardown) */
  readonly dir: string;
  private readonly record: OwnershipRecord;
  private readonly nodeMap = new Map<string, LabNode>();
  /** routes added through the spec or addRoute(), re-applied by linkUp() (the kernel drops them on link down) */
  private readonly routeMap = new Map<string, RouteSpec[]>();
  private readonly procs: LabProcess[] = [];
  private readonly resources: LabResource[] = [];
  private tornDown = false;
  private portSeq = 0;

  private constructor(prefix: string) {
    if (!PREFIX_RE.test(prefix)) throw new Error(`lab prefix must match ${PREFIX_RE}: '${prefix}'`);
    const n = seq++;
    this.prefix = prefix;
    this.tag = `${prefix}-${process.pid.toString(36)}${n}`;
    this.record = new OwnershipRecord(prefix, this.tag, n);
    this.record.save();
    this.dir = mkdtempSync(join(tmpdir(), `edgelb-lab-${this.tag}-`));
    this.record.addDir(this.dir);
    liveLabs.add(this);
    installExitHooks();
  }

  /** Build a topology. On any failure everything created so far is removed and the error rethrown. */
  static async create(spec: LabSpec, opts: LabCreateOptions = {}): Promise<Lab> {
    if (opts.cleanupStale ?? true) cleanupStale();
    await run(['sh', '-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf'], { check: false });
    const lab = new Lab(spec.prefix);
    try {
      await Promise.all(spec.nodes.map((n) => lab.addNode(n)));
      for (const l of spec.links ?? []) await lab.addLink(l);
      await Promise.all(spec.nodes.map((n) => lab.addRoutes(n.name, n.routes ?? [])));
    } catch (e) {
      await lab.teardown();
      throw e;
    }
    return lab;
  }

  /** Nodes by logical name. */
  get nodes(): LabNode[] {
    return [...this.nodeMap.values()];
  }

  node(name: string): LabNode {
    const n = this.nodeMap.get(name);
    if (!n) throw new Error(`lab ${this.tag}: no node '${name}' (have ${[...this.nodeMap.keys()].join(', ')})`);
    return n;
  }

  /** Real namespace name of a node. */
  netns(node: string): string {
    return this.node(node).netns;
  }

  /** First IPv4 (or IPv6) address of a node, without the length. */
  addr(node: string, family: 4 | 6 = 4): string {
    const a = this.node(node).addrs.find((x) => isV6(x) === (family === 6));
    if (!a) throw new Error(`lab ${this.tag}: node '${node}' has no IPv${family} address`);
    return hostOf(a);
  }

  /** A TCP port unique within this lab (for gRPC/API listeners on the namespaces' loopbacks). */
  nextPort(base = 50051): number {
    return base + this.portSeq++;
  }

  /** A fresh path inside the lab's scratch directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Remove `path` (file or directory) on teardown, and on the cleanup of this run if it crashes. */
  ownPath(path: string): void {
    this.record.addDir(path);
  }

  /** Write a file in the scratch directory and return its path. */
  writeFile(name: string, text: string, mode = 0o600): string {
    const p = this.path(name);
    writeFileSync(p, text, { mode });
    return p;
  }

  // ---- building ----------------------------------------------------------------------------

  /** Create a namespace with lo up, the default sysctls, bridges and loopback addresses. */
  async addNode(spec: NodeSpec): Promise<LabNode> {
    this.assertLive();
    if (!NODE_RE.test(spec.name)) throw new Error(`node name must match ${NODE_RE}: '${spec.name}'`);
    if (this.nodeMap.has(spec.name)) throw new Error(`duplicate node '${spec.name}'`);
    const netns = `${this.tag}-${spec.name}`;
    if (existsSync(`/run/netns/${netns}`)) throw new Error(`namespace ${netns} already exists (not ours)`);
    const node: LabNode = { name: spec.name, netns, role: spec.role ?? 'other', addrs: [] };
    this.record.addNetns(netns);
    this.nodeMap.set(spec.name, node);
    await run(['ip', 'netns', 'add', netns]);
    const fwd = spec.forwarding ? '1' : '0';
    const sysctls: Record<string, string | number> = {
      'net.ipv6.conf.all.accept_dad': 0,
      'net.ipv6.conf.default.accept_dad': 0,
      // keep IPv6 addresses across linkDown/linkUp, as IPv4 does
      'net.ipv6.conf.all.keep_addr_on_down': 1,
      'net.ipv6.conf.default.keep_addr_on_down': 1,
      'net.ipv4.fib_multipath_hash_policy': 1,
      'net.ipv6.fib_multipath_hash_policy': 1,
      'net.ipv4.ip_forward': fwd,
      'net.ipv6.conf.all.forwarding': fwd,
      'net.ipv6.conf.default.forwarding': fwd,
      ...(spec.sysctls ?? {}),
    };
    await this.sysctl(spec.name, sysctls);
    await this.ip(spec.name, ['link', 'set', 'dev', 'lo', 'up']);
    for (const b of spec.bridges ?? []) {
      checkIfname(b.name);
      await this.ip(spec.name, ['link', 'add', b.name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      // no DAD, no router solicitation delay: the bridge carries addresses as soon as it is up
      for (const a of b.addrs ?? []) await this.addAddress(spec.name, b.name, a);
      await this.ip(spec.name, ['link', 'set', 'dev', b.name, 'up']);
    }
    for (const a of spec.loopback ?? []) await this.addAddress(spec.name, 'lo', a);
    return node;
  }

  /** Create a veth pair between two nodes (both ends made directly inside their namespaces). */
  async addLink(l: LinkSpec): Promise<void> {
    this.assertLive();
    checkIfname(l.a.ifname);
    checkIfname(l.b.ifname);
    const na = this.netns(l.a.node);
    const nb = this.netns(l.b.node);
    await run(['ip', 'link', 'add', 'name', l.a.ifname, 'netns', na, 'type', 'veth', 'peer', 'name', l.b.ifname, 'netns', nb]);
    for (const end of [l.a, l.b]) {
      if (l.mtu) await this.ip(end.node, ['link', 'set', 'dev', end.ifname, 'mtu', String(l.mtu)]);
      if (end.mac) await this.ip(end.node, ['link', 'set', 'dev', end.ifname, 'address', end.mac]);
      if (end.bridge) await this.ip(end.node, ['link', 'set', 'dev', end.ifname, 'master', end.bridge]);
      for (const a of end.addrs ?? []) await this.addAddress(end.node, end.ifname, a);
      await this.ip(end.node, ['link', 'set', 'dev', end.ifname, 'up']);
      if (end.txOffloadOff) await this.txOffloadOff(end.node, end.ifname);
    }
  }

  async addRoutes(node: string, routes: RouteSpec[]): Promise<void> {
    for (const r of routes) await this.addRoute(node, r);
  }

  /** `ip route replace` (IPv6 when `via` or `to` is an IPv6 address). */
  async addRoute(node: string, r: RouteSpec): Promise<void> {
    const v6 = isV6(r.via ?? r.to);
    const args = [v6 ? '-6' : '-4', 'route', 'replace', r.to];
    if (r.via) args.push('via', r.via);
    if (r.dev) args.push('dev', r.dev);
    if (r.metric !== undefined) args.push('metric', String(r.metric));
    await this.ip(node, args);
    const list = this.routeMap.get(node) ?? [];
    if (!list.some((x) => JSON.stringify(x) === JSON.stringify(r))) list.push(r);
    this.routeMap.set(node, list);
  }

  /** Add an address (IPv6 without DAD). */
  async addAddress(node: string, ifname: string, cidr: string): Promise<void> {
    const args = ['addr', 'add', cidr, 'dev', ifname];
    if (isV6(cidr)) args.push('nodad');
    await this.ip(node, args);
    this.node(node).addrs.push(cidr);
  }

  async delAddress(node: string, ifname: string, cidr: string): Promise<void> {
    await this.ip(node, ['addr', 'del', cidr, 'dev', ifname]);
    const n = this.node(node);
    n.addrs = n.addrs.filter((a) => a !== cidr);
  }

  async sysctl(node: string, values: Record<string, string | number>): Promise<void> {
    const args = Object.entries(values).map(([k, v]) => `${k}=${v}`);
    if (args.length) await this.exec(node, ['sysctl', '-q', '-w', ...args]);
  }

  /** `ethtool -K IF tx off` (and the checksum/segmentation offloads that depend on it). */
  async txOffloadOff(node: string, ifname: string): Promise<void> {
    await this.exec(node, ['ethtool', '-K', ifname, 'tx', 'off']);
  }

  async linkDown(node: string, ifname: string): Promise<void> {
    await this.ip(node, ['link', 'set', 'dev', ifname, 'down']);
  }

  /** Set the link up and re-add the node's routes (the kernel removed those through it on link down). */
  async linkUp(node: string, ifname: string): Promise<void> {
    await this.ip(node, ['link', 'set', 'dev', ifname, 'up']);
    for (const r of this.routeMap.get(node) ?? []) await this.addRoute(node, r);
  }

  // ---- running things ----------------------------------------------------------------------

  /** Run `ip ARGS` against a node's namespace (`ip -n NETNS …`). */
  ip(node: string, args: string[], opts?: ExecOptions): Promise<ExecResult> {
    return run(['ip', '-n', this.netns(node), ...args], opts);
  }

  /** Run a command inside a node's namespace and collect its output (throws on non-zero unless check: false). */
  exec(node: string, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    this.assertLive();
    return run(inNetns(this.netns(node), cmd), opts);
  }

  /**
   * Start a long-running process inside a node's namespace (through nsenter, so bpffs stays visible).
   * Its output goes to a log file in the lab directory; it is killed on teardown.
   */
  async spawn(node: string, cmd: readonly string[], opts: SpawnOptions = {}): Promise<LabProcess> {
    this.assertLive();
    const name = opts.name ?? `${node}-${(cmd[0] ?? 'proc').split('/').pop()}`;
    const log = this.path(`${name}.${this.procs.length}.log`);
    const p = await LabProcess.start(name, this.netns(node), inNetns(this.netns(node), cmd), log, opts);
    this.procs.push(p);
    this.record.addPid(p.pid);
    return p;
  }

  /** Processes started with spawn() (running or not). */
  get processes(): readonly LabProcess[] {
    return this.procs;
  }

  /** Tie a resource (router, helper) to the lab: it is stopped on teardown, before processes are killed. */
  own<T extends LabResource>(r: T): T {
    this.resources.push(r);
    return r;
  }

  /** The last `lines` lines of every process log, for printing when a test fails. */
  logs(lines = 40): string {
    return this.procs
      .map((p) => {
        const out = p.output().split('\n');
        const state = p.running ? 'running' : `exited ${p.exitCode}`;
        return `--- ${p.name} (pid ${p.pid}, ${state}) ${p.logPath}\n${out.slice(-lines).join('\n')}`;
      })
      .join('\n');
  }

  /** True when `addr` answers `count` pings from `node` (ping -4/-6 by the address' family, -W timeoutS). */
  async ping(node: string, addr: string, opts: { count?: number; timeoutS?: number } = {}): Promise<boolean> {
    const args = ['ping', isV6(addr) ? '-6' : '-4', '-n', '-q', '-c', String(opts.count ?? 1), '-i', '0.2', '-W', String(opts.timeoutS ?? 2), addr];
    return (await this.exec(node, args, { check: false })).code === 0;
  }

  // ---- reading state -----------------------------------------------------------------------

  /** Routes of the node's kernel FIB (main table), IPv4 and IPv6, optionally only `prefix`. */
  async fibRoutes(node: string, prefix?: string, family?: 4 | 6): Promise<FibRoute[]> {
    const fams: (4 | 6)[] = family ? [family] : prefix ? [isV6(prefix) ? 6 : 4] : [4, 6];
    const out: FibRoute[] = [];
    for (const f of fams) {
      const r = await this.ip(node, [`-${f}`, '-j', 'route', 'show']);
      out.push(...parseIpRouteJson(r.stdout, f));
    }
    if (!prefix) return out;
    const want = normalizePrefix(prefix, isV6(prefix) ? 6 : 4);
    return out.filter((r) => r.prefix === want);
  }

  /** Wait until the FIB route for `prefix` satisfies `accept` (default: it exists); resolves with it. */
  async waitForFibRoute(node: string, prefix: string, accept: (r: FibRoute) => boolean = () => true, opts: WaitOptions = {}): Promise<FibRoute> {
    const routes = await waitUntil(
      () => this.fibRoutes(node, prefix),
      (rs) => rs.some(accept),
      { what: `FIB route ${prefix} in ${node}`, ...opts },
    );
    return routes.find(accept)!;
  }

  /** Wait until `prefix` has no FIB route in `node`. */
  async waitForNoFibRoute(node: string, prefix: string, opts: WaitOptions = {}): Promise<void> {
    await waitUntil(
      () => this.fibRoutes(node, prefix),
      (rs) => rs.length === 0,
      { what: `no FIB route ${prefix} in ${node}`, ...opts },
    );
  }

  // ---- teardown ----------------------------------------------------------------------------

  /** Stop resources and processes, delete the namespaces (with their links and bridges) and the scratch dir. Idempotent. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const r of [...this.resources].reverse()) {
      try {
        await r.stop();
      } catch {
        /* keep tearing down */
      }
    }
    await Promise.all(this.procs.map((p) => p.stop('SIGTERM', 2000)));
    this.finishSync();
  }

  /** Synchronous teardown for exit handlers. Idempotent. */
  teardownSync(): void {
    if (this.tornDown && !liveLabs.has(this)) return;
    this.tornDown = true;
    killPidsSync(this.procs.filter((p) => p.running).map((p) => p.pid), 500);
    this.finishSync();
  }

  /**
   * Leave the lab up when this process exits (e.g. `edgelb lab demo --keep`): no teardown on exit or
   * signal. Its ownership record stays, so once this process is gone the next Lab.create (or
   * cleanupStale()) removes the kept lab. teardown() still works while this process runs.
   */
  detach(): void {
    liveLabs.delete(this);
  }

  get isTornDown(): boolean {
    return this.tornDown;
  }

  private finishSync(): void {
    for (const n of this.nodeMap.values()) {
      // anything still inside (a daemon that forked away from us) goes with its namespace
      killPidsSync(netnsPidsSync(n.netns), 1000);
      destroyNetnsSync(n.netns);
    }
    if (!process.env.EDGELB_LAB_KEEP) {
      for (const d of this.record.data.dirs) rmSync(d, { recursive: true, force: true });
    }
    this.record.remove();
    liveLabs.delete(this);
  }

  private assertLive(): void {
    if (this.tornDown) throw new Error(`lab ${this.tag} is torn down`);
  }
}

function checkIfname(name: string): void {
  if (name.length === 0 || name.length > IFNAME_MAX || /[\s/:]/.test(name)) {
    throw new Error(`interface name must be 1..${IFNAME_MAX} chars without spaces, '/' or ':': '${name}'`);
  }
}
