// Benchmark: legitimate connections during a SYN burst, in the demo's shape (test/lab/edge-lab.ts:
// BIRD router, ECMP over three edge nodes, four backends). One client address sends a bounded
// burst of SYNs with random source ports to a VIP while other addresses of the client make new
// HTTP connections to it; the figures are their success rate and their TCP connect time (p50, p99).
// Side A: edgelb's XDP onearm VIP. Anchors, on the same nodes and wires: iptables DNAT+MASQUERADE
// and nftables NAT (numgen over the same four backends, masquerade) behind a static ECMP route at
// the router (this kernel has no IPVS). The three rotate in every run, so none always goes first.
// The anchors' packets cross the XDP program as traffic for no VIP (the fast path) before netfilter.
import type { BenchContext, Row } from './lib/harness.js';
import { percentile, rotate } from './lib/harness.js';
import type { Benchmark } from './run.js';
import { EdgeLab, VIP_IPTABLES, VIP_NFTABLES, VIP_ONEARM } from '../test/lab/edge-lab.js';

interface Sample {
  successPct: number;
  p50: number;
  p99: number;
}

const SIDES = [
  { name: 'edgelb', vip: VIP_ONEARM },
  { name: 'iptables', vip: VIP_IPTABLES },
  { name: 'nftables', vip: VIP_NFTABLES },
] as const;

const bench: Benchmark = {
  name: 'syn-burst',
  title: 'new connections during a one-address SYN burst, 3 ECMP nodes, 4 backends: edgelb XDP onearm vs iptables DNAT+MASQUERADE vs nftables NAT',
  async run(ctx: BenchContext): Promise<Row[]> {
    const burst = ctx.quick ? { count: 2000, seconds: 2 } : { count: 60_000, seconds: 15 };
    const legitN = ctx.quick ? 20 : 200;
    const e = await EdgeLab.start({ prefix: 'bsyn', attachMode: 'generic', anchors: true });
    try {
      let first = 0;
      const side = (vip: string, name: string) => async (i: number): Promise<Sample> => {
        const flood = await e.burst(vip, 80, burst.count, burst.seconds);
        await new Promise((r) => setTimeout(r, Math.min(1000, burst.seconds * 250)));
        const got = await e.legit(vip, legitN, first);
        first += legitN;
        await flood.exited;
        const sent = /SENT (\d+) (\d+)/.exec(flood.output());
        const s = { successPct: (100 * got.ok) / legitN, p50: percentile(got.connectMs, 50), p99: percentile(got.connectMs, 99) };
        ctx.log(`run ${i + 1} ${name}: burst ${sent?.[1] ?? '?'} SYNs in ${sent?.[2] ?? '?'} ms; ${got.ok}/${legitN} connections, connect p50 ${s.p50.toFixed(2)} ms p99 ${s.p99.toFixed(2)} ms`);
        if (!sent) throw new Error(`burst sender failed: ${flood.output().slice(-500)}`);
        // a side with no successful connection has no connect time: count it as the curl timeout
        if (!got.connectMs.length) Object.assign(s, { p50: 3000, p99: 3000 });
        return s;
      };
      const [ours, ipt, nft] = await rotate(ctx.runs, SIDES.map((s) => side(s.vip, s.name)));
      const shape = `${burst.count} SYNs in ${burst.seconds} s from one address, ${legitN} connections from 20 others`;
      const rows: Row[] = [];
      for (const [anchor, theirs] of [
        ['iptables DNAT (statistic random) + MASQUERADE, same nodes, static ECMP route', ipt!],
        ['nftables dnat numgen random + masquerade, same nodes, static ECMP route', nft!],
      ] as const) {
        rows.push(
          { bench: 'syn-burst', figure: `connections that succeed during a burst (${shape})`, unit: '%', better: 'higher', ours: ours!.map((x) => x.successPct), anchor, theirs: theirs.map((x) => x.successPct), goal: '≥ 99 %', met: percentile(ours!.map((x) => x.successPct), 50) >= 99 },
          { bench: 'syn-burst', figure: 'TCP connect time during the burst, p50', unit: 'ms', better: 'lower', ours: ours!.map((x) => x.p50), anchor, theirs: theirs.map((x) => x.p50) },
          { bench: 'syn-burst', figure: 'TCP connect time during the burst, p99', unit: 'ms', better: 'lower', ours: ours!.map((x) => x.p99), anchor, theirs: theirs.map((x) => x.p99) },
        );
      }
      return rows;
    } finally {
      await e.teardown();
    }
  },
};
export default bench;
