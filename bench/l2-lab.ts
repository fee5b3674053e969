// The L2 lab shared by test/lab/l2-failover.test.ts and bench/failover-l2.ts: three edge nodes and
// a client on one bridge, three shards, VIPs on every node's lo (so any node can serve traffic for
// them) with arp_ignore=1 / arp_announce=2 so that only the announcer answers ARP for them (the
// kernel answers NDP only for addresses of the receiving interface, so lo is enough for IPv6).
// Each node runs test/lab/l2-node-runner.ts (Membership + ShardManager + L2Announcer) under
// `node --single-threaded-gc --no-concurrent-recompilation`, the daemon's flags (see
// src/cluster/membership.ts, missingHeartbeatFlags; L2_NODE_FLAGS overrides).
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, type LabProcess, type LabSpec } from '../test/lab/lib/index.js';
import { waitUntil } from '../test/lab/lib/index.js';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const RUNNER = fileURLToPath(new URL('../test/lab/l2-node-runner.ts', import.meta.url));
export const NODES = ['node1', 'node2', 'node3'] as const;
export const CLIENT = { name: 'client', v4: '10.0.0.100', v6: 'fd00::100' };
export const PORT = 7777;
export const HB_PORT = 11112;
export const VIPS = [
  { vip: '10.0.0.200', shard: 0 },
  { vip: 'fd00::200', shard: 0 },
  { vip: '10.0.0.203', shard: 0 },
  { vip: '10.0.0.201', shard: 1 },
  { vip: 'fd00::201', shard: 1 },
  { vip: '10.0.0.202', shard: 2 },
  { vip: 'fd00::202', shard: 2 },
];
export const nodeAddr = (i: number) => ({ v4: `10.0.0.${10 + i}`, v6: `fd00::${10 + i}` });

export interface Timing {
  intervalMs?: number;
  deadAfterMs?: number;
  holdDownMs?: number;
  garpCount?: number;
  garpIntervalMs?: number;
}

export interface NodeState {
  t: number;
  mac: string;
  mastered: number[];
  owned: string[];
  live: string[];
  view: Array<{ shard: number; state: string; master: string; epoch: number }>;
}

export class L2Lab {
  readonly runners = new Map<string, LabProcess>();
  readonly macs = new Map<string, string>();
  private constructor(
    readonly lab: Lab,
    readonly timing: Timing,
  ) {}

  static async create(prefix: string, timing: Timing = {}, extraSysctls: Record<string, number> = {}): Promise<L2Lab> {
    const sysctls = {
      'net.ipv4.conf.all.arp_ignore': 1,
      'net.ipv4.conf.default.arp_ignore': 1,
      'net.ipv4.conf.all.arp_announce': 2,
      'net.ipv4.conf.default.arp_announce': 2,
      'net.ipv4.ip_nonlocal_bind': 1,
      'net.ipv6.ip_nonlocal_bind': 1,
      ...extraSysctls,
    };
    const spec: LabSpec = {
      prefix,
      nodes: [
        { name: 'sw', role: 'other', bridges: [{ name: 'br0' }] },
        ...NODES.map((name) => ({ name, role: 'node' as const, sysctls, loopback: VIPS.map((v) => (v.vip.includes(':') ? `${v.vip}/128` : `${v.vip}/32`)) })),
        { name: CLIENT.name, role: 'client' as const },
      ],
      links: [
        ...NODES.map((name, i) => ({
          a: { node: name, ifname: 'eth0', addrs: [`${nodeAddr(i + 1).v4}/24`, `${nodeAddr(i + 1).v6}/64`] },
          b: { node: 'sw', ifname: name, bridge: 'br0' },
        })),
        { a: { node: CLIENT.name, ifname: 'eth0', addrs: [`${CLIENT.v4}/24`, `${CLIENT.v6}/64`] }, b: { node: 'sw', ifname: 'client', bridge: 'br0' } },
      ],
    };
    const lab = await Lab.create(spec);
    const l = new L2Lab(lab, timing);
    try {
      // no multicast snooping: solicited-node NS reach every port without MLD reports
      await lab.ip('sw', ['link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
      for (const n of NODES) {
        const j = JSON.parse((await lab.ip(n, ['-j', 'link', 'show', 'eth0'])).stdout) as Array<{ address: string }>;
        l.macs.set(n, j[0]!.address);
      }
      lab.writeFile('cluster.key', 'lab-cluster-key-0123456789abcdef\n');
    } catch (e) {
      await lab.teardown();
      throw e;
    }
    return l;
  }

  stateFile(node: string): string {
    return this.lab.path(`${node}.state.json`);
  }

  async startNode(node: string): Promise<LabProcess> {
    const i = NODES.indexOf(node as (typeof NODES)[number]) + 1;
    const opts = {
      name: node,
      iface: 'eth0',
      listen: `${nodeAddr(i).v4}:${HB_PORT}`,
      members: NODES.map((_, k) => `${nodeAddr(k + 1).v4}:${HB_PORT}`),
      keyFile: this.lab.path('cluster.key'),
      shards: 3,
      vips: VIPS,
      port: PORT,
      stateFile: this.stateFile(node),
      ...this.timing,
    };
    const p = await this.lab.spawn(node, ['node', ...(process.env.L2_NODE_FLAGS ?? '--single-threaded-gc --no-concurrent-recompilation').split(' ').filter(Boolean), '--import', 'tsx', RUNNER, 'node', JSON.stringify(opts)], { name: `${node}-runner`, cwd: REPO });
    this.runners.set(node, p);
    await waitUntil(() => p.output().includes('"ev":"started"') || !p.running, { timeoutMs: 20_000, what: `${node} runner started` });
    if (!p.running) throw new Error(`${node} runner exited:\n${p.output()}`);
    return p;
  }

  state(node: string): NodeState | undefined {
    const f = this.stateFile(node);
    if (!existsSync(f)) return undefined;
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as NodeState;
    } catch {
      return undefined;
    }
  }

  running(): string[] {
    return [...this.runners].filter(([, p]) => p.running).map(([n]) => n);
  }

  /** Master of each shard among the running nodes (undefined when none or several). */
  masters(among = this.running()): Array<string | undefined> {
    return [0, 1, 2].map((s) => {
      const ms = among.filter((n) => this.state(n)?.mastered.includes(s));
      return ms.length === 1 ? ms[0] : undefined;
    });
  }

  /** Wait until every shard has exactly one master among `among`, each mastering one shard. */
  async waitBalanced(among = this.running(), timeoutMs = 15_000): Promise<string[]> {
    let last: Array<string | undefined> = [];
    await waitUntil(
      () => {
        last = this.masters(among);
        return last.every((m) => m !== undefined) && new Set(last).size === Math.min(3, among.length);
      },
      { timeoutMs, intervalMs: 20, what: 'one master per shard' },
    );
    return last as string[];
  }

  async kill(node: string): Promise<number> {
    const p = this.runners.get(node)!;
    const t = Date.now();
    p.signal('SIGKILL');
    await p.exited;
    return t;
  }

  /** Events a runner printed (JSON lines). */
  events(node: string): Array<{ t: number; ev: string; [k: string]: unknown }> {
    const out: Array<{ t: number; ev: string }> = [];
    for (const p of this.lab.processes.filter((x) => x.name === `${node}-runner`)) {
      for (const line of p.output().split('\n')) {
        if (!line.startsWith('{"t":')) continue;
        try {
          out.push(JSON.parse(line));
        } catch {
          /* partial line */
        }
      }
    }
    return out;
  }

  /** Run a client-side helper (probe or watch) and return its result line. */
  async client<T>(mode: 'probe' | 'watch', opts: object, during?: () => Promise<void>): Promise<T> {
    const p = await this.lab.spawn(CLIENT.name, ['node', '--import', 'tsx', RUNNER, mode, JSON.stringify({ iface: 'eth0', ...opts })], { name: `client-${mode}`, cwd: REPO });
    await waitUntil(() => /"ev":"(probing|watching)"/.test(p.output()) || !p.running, { timeoutMs: 20_000, what: `client ${mode} started` });
    if (during) await during();
    await p.exited;
    const line = p.output().split('\n').find((x) => x.startsWith('{"ev":"result"'));
    if (!line) throw new Error(`client ${mode} gave no result:\n${p.output()}`);
    return JSON.parse(line) as T;
  }

  async teardown(): Promise<void> {
    await this.lab.teardown();
  }
}

export interface ProbeResult {
  sent: number;
  replies: Array<[number, string]>;
  garps: Array<[number, string, string]>;
}

/**
 * Outage seen by the client around a kill at `killT`: the gap from the last reply before the kill
 * to the first reply from another node after it; detection = the first gratuitous announcement
 * of the VIP from the new owner's MAC minus killT; neighbour update = first reply minus that.
 * Undefined when the victim was not serving the client just before the kill, or nobody took over.
 */
export function analyseOutage(r: ProbeResult, killT: number, victim: string, vip: string, macs: Map<string, string>) {
  const before = r.replies.filter(([t]) => t <= killT);
  // the run only measures a failover if the victim was the one serving the client at the kill
  if (!before.length || before[before.length - 1]![1] !== victim) return undefined;
  const lastBefore = before[before.length - 1]![0];
  const firstAfter = r.replies.find(([t, n]) => t > killT && n !== victim);
  if (!firstAfter) return undefined;
  const newMac = macs.get(firstAfter[1]);
  const garp = r.garps.find(([t, v, mac]) => t > killT && v === vip && mac === newMac);
  const outageMs = firstAfter[0] - lastBefore;
  const detectionMs = garp ? garp[0] - killT : NaN;
  const cacheMs = garp ? firstAfter[0] - garp[0] : NaN;
  return { outageMs, detectionMs, cacheMs, newOwner: firstAfter[1] };
}
