// The demo's shape for data-path lab tests and the SYN-burst benchmark: a BIRD router with ECMP
// over three edge nodes running edgelb daemons (BGP, an onearm VIP with TCP 80 and UDP 53 and a
// dsr VIP, four backends) and a client namespace with twenty extra addresses. Optionally the same
// nodes also balance two anchor VIPs with netfilter (iptables DNAT+MASQUERADE, nftables NAT) behind
// a static ECMP route at the router, so the benchmark compares them on the same wires. Helpers read
// what the tests assert: the router's forwarded-datagram counter, a node's XDP counters (its
// /metrics), legitimate connections with their connect time, and a bounded raw SYN burst.
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, run, waitUntil, BirdRouter, type LabProcess } from './lib/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const VIP_ONEARM = '192.168.80.241';
export const VIP_DSR = '192.168.80.242';
/** Anchors' VIPs (netfilter on the same nodes; the XDP program passes them as traffic for no VIP). */
export const VIP_IPTABLES = '10.201.0.1';
export const VIP_NFTABLES = '10.202.0.1';
export const NODES = 3;
export const BACKENDS = 4;
/** Legitimate client addresses (the client's own 10.100.0.2 aside). */
export const LEGIT = Array.from({ length: 20 }, (_, i) => `10.100.0.${10 + i}`);
/** The burst's source: configured nowhere, so the answers to its SYNs die at the router. */
export const ATTACKER = '10.100.0.250';

export interface EdgeLabOptions {
  prefix: string;
  attachMode: 'generic' | 'native';
  /** Also program the iptables and nftables anchors (benchmark). */
  anchors?: boolean;
}

export interface LegitResult {
  ok: number;
  failed: number;
  /** TCP connect time of each successful connection, ms */
  connectMs: number[];
}

export class EdgeLab {
  private constructor(
    readonly lab: Lab,
    readonly router: BirdRouter,
    readonly daemons: LabProcess[],
  ) {}

  static async start(opts: EdgeLabOptions): Promise<EdgeLab> {
    await run(['make', '-s', '-C', ROOT, 'build/bpf/edgelb_xdp.bpf.o', 'build/bpf/ct_count.bpf.o', 'build/bpf/xdp_pass.bpf.o', 'dist/.stamp']);
    const lab = await Lab.create(edgeTopology({ prefix: opts.prefix, nodes: NODES, backends: BACKENDS, client: true }));
    try {
      for (const a of LEGIT) await lab.ip('client', ['addr', 'add', `${a}/24`, 'dev', 'eth0']);
      for (let j = 1; j <= BACKENDS; j++) {
        const be = edgePlan.backend(j).name;
        await lab.txOffloadOff(be, 'eth0');
        await lab.addAddress(be, 'lo', `${VIP_DSR}/32`);
        await lab.sysctl(be, { 'net.ipv4.conf.all.arp_ignore': 1, 'net.ipv4.conf.all.arp_announce': 2, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.eth0.rp_filter': 0 });
        const srv = await lab.spawn(be, ['node', `${ROOT}/dist/lab/backend-server.js`, be, '80,8080', '5353'], { name: `http-${be}` });
        await waitUntil(() => srv.output().includes('listening on 80'), (x) => x, { timeoutMs: 20_000, what: `${be} listening` });
      }
      if (opts.attachMode === 'native') {
        // veth delivers native XDP_TX only to a peer that runs an XDP program
        for (let i = 1; i <= NODES; i++) await lab.ip('router', ['link', 'set', 'dev', edgePlan.node(i).name, 'xdpdrv', 'obj', `${ROOT}/build/bpf/xdp_pass.bpf.o`, 'sec', 'xdp']);
      }
      const router = await BirdRouter.start(lab, 'router', {
        asn: 64512,
        routerId: edgePlan.router.lan4,
        neighbors: Array.from({ length: NODES }, (_, k) => ({ address: edgePlan.node(k + 1).v4, asn: 64513, holdTime: 3, connectRetry: 1 })),
      });
      const daemons: LabProcess[] = [];
      for (let i = 1; i <= NODES; i++) {
        const pinRoot = `/sys/fs/bpf/edgelb/${lab.tag}-edge-${i}`;
        lab.ownPath(pinRoot); // a daemon's pins outlive it by design (hitless restart): the lab removes them
        const cfg = lab.writeFile(`edge-${i}.yaml`, nodeConfig(i, opts.attachMode, pinRoot));
        daemons.push(await lab.spawn(edgePlan.node(i).name, ['node', '--single-threaded-gc', `${ROOT}/dist/cli/main.js`, 'daemon', '--config', cfg], { name: `edgelb-${i}` }));
      }
      const e = new EdgeLab(lab, router, daemons);
      await router.waitEstablished(Array.from({ length: NODES }, (_, k) => edgePlan.node(k + 1).v4), { timeoutMs: 60_000 });
      for (const vip of [VIP_ONEARM, VIP_DSR]) await lab.waitForFibRoute('router', `${vip}/32`, (x) => x.nexthops.length === NODES, { timeoutMs: 30_000 });
      if (opts.anchors) await e.programAnchors();
      return e;
    } catch (err) {
      console.error(lab.logs(30));
      await lab.teardown();
      throw err;
    }
  }

  /** iptables (VIP_IPTABLES) and nftables (VIP_NFTABLES) DNAT over the 4 backends + masquerade, on every node. */
  private async programAnchors(): Promise<void> {
    const lab = this.lab;
    const bes = Array.from({ length: BACKENDS }, (_, j) => edgePlan.backend(j + 1).v4);
    for (const vip of [VIP_IPTABLES, VIP_NFTABLES]) {
      await lab.ip('router', ['route', 'add', `${vip}/32`, ...Array.from({ length: NODES }, (_, i) => ['nexthop', 'via', edgePlan.node(i + 1).v4]).flat()]);
    }
    for (let i = 1; i <= NODES; i++) {
      const node = edgePlan.node(i).name;
      await lab.sysctl(node, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.send_redirects': 0, 'net.ipv4.conf.eth0.send_redirects': 0 });
      // iptables: the n-th rule takes 1/(n left) of what reaches it, so each backend gets a quarter
      for (let j = 0; j < BACKENDS; j++) {
        const share = j === BACKENDS - 1 ? [] : ['-m', 'statistic', '--mode', 'random', '--probability', (1 / (BACKENDS - j)).toFixed(5)];
        await lab.exec(node, ['iptables', '-t', 'nat', '-A', 'PREROUTING', '-d', VIP_IPTABLES, '-p', 'tcp', '--dport', '80', ...share, '-j', 'DNAT', '--to-destination', `${bes[j]}:8080`]);
      }
      await lab.exec(node, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-m', 'conntrack', '--ctstate', 'DNAT', '--ctorigdst', VIP_IPTABLES, '-j', 'MASQUERADE']);
      const map = bes.map((b, j) => `${j} : ${b}`).join(', ');
      await lab.exec(node, ['nft', '-f', '-'], {
        input: `table ip edgelbanchor {
  chain pre {
    type nat hook prerouting priority dstnat;
    ip daddr ${VIP_NFTABLES} tcp dport 80 dnat to numgen random mod ${BACKENDS} map { ${map} } : 8080
  }
  chain post {
    type nat hook postrouting priority srcnat;
    ct original ip daddr ${VIP_NFTABLES} masquerade
  }
}
`,
      });
    }
  }

  /** Datagrams the router forwarded so far (Ip: ForwDatagrams of its namespace). */
  async forwarded(): Promise<number> {
    const snmp = (await this.lab.exec('router', ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Ip:'));
    const names = snmp[0]!.split(/\s+/);
    return Number(snmp[1]!.split(/\s+/)[names.indexOf('ForwDatagrams')]);
  }

  /** Node i's XDP counters by their edgelb_shared.h names (from its /metrics), and the attach mode. */
  async counters(i: number): Promise<{ c: Record<string, number>; mode: string }> {
    const r = await this.lab.exec(edgePlan.node(i).name, ['curl', '-s', '--max-time', '5', 'http://127.0.0.1:11111/metrics']);
    const c: Record<string, number> = {};
    let mode = '';
    for (const line of r.stdout.split('\n')) {
      let m = /^edgelb_dataplane_verdicts_total\{verdict="(\w+)",reason="(\w+)"\} (\S+)/.exec(line);
      if (m) c[m[1] === m[2] ? m[1]! : `${m[1]}_${m[2]}`] = Number(m[3]);
      m = /^edgelb_dataplane_events_total\{event="(\w+)"\} (\S+)/.exec(line);
      if (m) c[m[1]!] = Number(m[2]);
      m = /^edgelb_dataplane_attached\{mode="(\w+)"\} 1/.exec(line);
      if (m) mode = m[1]!;
    }
    return { c, mode };
  }

  /** A counter summed over the nodes. */
  async total(name: string): Promise<number> {
    let n = 0;
    for (let i = 1; i <= NODES; i++) n += (await this.counters(i)).c[name] ?? 0;
    return n;
  }

  /** n new HTTP connections to vip:80 from the legitimate addresses in turn (curl, 3 s each at most). */
  async legit(vip: string, n: number, first = 0): Promise<LegitResult> {
    const script = `i=${first}; end=$((${first} + ${n})); while [ $i -lt $end ]; do a=10.100.0.$((10 + i % ${LEGIT.length})); curl -s -o /dev/null --max-time 3 --interface $a -w '%{http_code} %{time_connect}\\n' http://${vip}/; i=$((i+1)); done`;
    const r = await this.lab.exec('client', ['sh', '-c', script], { check: false, timeoutMs: n * 4000 + 30_000 });
    const res: LegitResult = { ok: 0, failed: 0, connectMs: [] };
    for (const line of r.stdout.trim().split('\n').slice(0, n)) {
      const [code, t] = line.split(' ');
      if (code === '200') {
        res.ok++;
        res.connectMs.push(Number(t) * 1000);
      } else res.failed++;
    }
    res.failed += Math.max(0, n - res.ok - res.failed);
    return res;
  }

  /** A SYN burst from ATTACKER to vip:port (random source ports), `count` SYNs over `seconds`. */
  async burst(vip: string, port: number, count: number, seconds: number): Promise<LabProcess> {
    const mac = JSON.parse((await this.lab.exec('router', ['ip', '-j', 'link', 'show', edgePlan.router.clientIf])).stdout)[0].address as string;
    return this.lab.spawn('client', ['node', '--import', 'tsx', `${ROOT}/test/lab/dataplane-synflood.ts`, 'eth0', mac, ATTACKER, vip, String(port), String(count), String(seconds)], { name: `burst-${vip}`, cwd: ROOT });
  }

  async teardown(): Promise<void> {
    await this.lab.teardown();
  }
}

function nodeConfig(i: number, attachMode: string, pinRoot: string): string {
  const n = edgePlan.node(i);
  const backends = Array.from({ length: BACKENDS }, (_, k) => edgePlan.backend(k + 1).v4);
  return `# generated by test/lab/edge-lab.ts
node: { name: edge-${i}, routerId: ${n.v4}, interface: ${n.ifname} }
api: { listen: 127.0.0.1:11111 }
bgp:
  asn: 64513
  listenPort: 0
  peers:
    - { address: ${edgePlan.router.lan4}, asn: 64512, holdTime: 3, connectRetry: 1 }
dataplane: { attachMode: ${attachMode}, pinRoot: ${pinRoot}, flowHashKey: edge-lab-flow-hash-key }
pools:
  - { name: default, cidrs: [192.168.80.240/28], announce: bgp, bgpMode: ecmp }
services:
  - name: web
    vip: ${VIP_ONEARM}
    mode: onearm
    ports: [{ port: 80, protocol: tcp, targetPort: 8080 }, { port: 53, protocol: udp, targetPort: 5353 }]
    endpoints: [${backends.join(', ')}]
  # no probes: their packets would resolve the backends' neighbour entries the dsr test deletes
  - name: web-dsr
    vip: ${VIP_DSR}
    mode: dsr
    ports: [{ port: 80, protocol: tcp }]
    endpoints: [${backends.join(', ')}]
`;
}
