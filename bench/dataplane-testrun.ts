// Benchmark: ns per packet of the edgelb XDP program under BPF_PROG_TEST_RUN — a new-flow SYN
// (Maglev + two conntrack inserts + FIB lookup), an established-flow packet (conntrack hit, cached
// next hop) and a non-VIP packet — each beside a bare XDP_TX program (swap MACs) measured the same
// way in the same run, as a ratio. Root; runs in a private network namespace.
//   npx tsx bench/dataplane-testrun.ts
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { loadNative } from '../src/native/index.js';
import { silentLogger } from '../src/lib/logger.js';
import { XdpDataplane } from '../src/dataplane/xdp.js';
import { xdpNativeFrom, XDP_ACTION } from '../src/dataplane/native.js';
import { frame, TCP_ACK } from '../test/unit/dataplane/pkt.js';
import { createTestNetns, deleteTestNetns, xdpCtx } from '../test/unit/dataplane/netns.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NS = `xdpb${process.pid}`;
execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/edgelb_xdp.bpf.o', 'build/bpf/xdp_tx_anchor.bpf.o'], { stdio: 'inherit' });
const native = xdpNativeFrom(loadNative());
const ns = createTestNetns(NS);
native.xdpSetNetns(ns.path);
let dp: XdpDataplane | undefined;
let anchorFd = -1;
try {
  const ifindex = native.ifNameToIndex('xdpt0');
  dp = new XdpDataplane({
    node: { name: `xdpb-${process.pid}`, routerId: '10.0.0.10', interface: 'xdpt0' },
    spec: { attachMode: 'generic', maglevSize: 65537, conntrackSize: 262144, enabled: true },
    logger: silentLogger(),
    registry: new Registry(),
    native,
    manageNeighbours: false,
    maxServices: 8,
  });
  await dp.open();
  await dp.setServices([
    { name: 'web', vip: '192.168.80.1', port: 80, protocol: 'tcp', mode: 'dnat', backends: [{ address: '10.0.0.2', port: 8080 }, { address: '10.0.0.3', port: 8080 }], epSelect: 'maglev', timeoutSec: 300 },
    { name: 'webdsr', vip: '192.168.80.3', port: 80, protocol: 'tcp', mode: 'dsr', backends: [{ address: '10.0.0.2', port: 80 }, { address: '10.0.0.3', port: 80 }], epSelect: 'maglev', timeoutSec: 300 },
    // onearm: SNAT ports are per (node address, backend address:port): 4536 by default
    { name: 'web1arm', vip: '192.168.80.2', port: 80, protocol: 'tcp', mode: 'onearm', backends: [{ address: '10.0.0.2', port: 8080 }, { address: '10.0.0.3', port: 8080 }], epSelect: 'maglev', timeoutSec: 300 },
  ]);
  const anchor = native.xdpLoad(`${ROOT}/build/bpf/xdp_tx_anchor.bpf.o`, { program: 'xdp_tx_anchor' });
  anchorFd = anchor.progFd;
  const prog = dp.programFd;

  const runRepeat = (fd: number, pkt: Buffer, repeat: number, want: number) => {
    const r = native.progTestRun(fd, pkt, repeat, { ctx: xdpCtx(pkt.length, ifindex) });
    if (r.retval !== want) throw new Error(`verdict ${r.retval}, wanted ${want}`);
    return r.durationNs;
  };
  /** Mean of single runs over distinct packets (each its own new flow). */
  const runDistinct = (fd: number, pkts: Buffer[], want: number) => {
    let total = 0;
    for (const p of pkts) total += runRepeat(fd, p, 1, want);
    return total / pkts.length;
  };

  const N = 20000;
  const syns = Array.from({ length: N }, (_, i) => frame({ src: `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, dst: '192.168.80.1', proto: 'tcp', sport: 1024 + (i % 60000), dport: 80 }));
  // warm both programs once
  runRepeat(anchorFd, syns[0]!, 1000, XDP_ACTION.TX);
  const rows: Array<[string, number, number]> = [];
  rows.push(['new-flow SYN, dnat (Maglev, 2 conntrack inserts, FIB)', runDistinct(prog, syns, XDP_ACTION.TX), runDistinct(anchorFd, syns, XDP_ACTION.TX)]);
  const onearmSyns = Array.from({ length: 4000 }, (_, i) => frame({ src: `10.9.${(i >> 8) & 255}.${i & 255}`, dst: '192.168.80.2', proto: 'tcp', sport: 2000 + i, dport: 80 }));
  const dsrSyns = syns.map((_, i) => frame({ src: `10.7.${(i >> 8) & 255}.${i & 255}`, dst: '192.168.80.3', proto: 'tcp', sport: 1024 + i, dport: 80 }));
  rows.push(['new-flow SYN, dsr (Maglev, 1 conntrack insert, FIB)', runDistinct(prog, dsrSyns, XDP_ACTION.TX), runDistinct(anchorFd, dsrSyns, XDP_ACTION.TX)]);
  rows.push(['new-flow SYN, onearm (+ SNAT port claim)', runDistinct(prog, onearmSyns, XDP_ACTION.TX), runDistinct(anchorFd, onearmSyns, XDP_ACTION.TX)]);

  // The program rewrites the packet in place and BPF_PROG_TEST_RUN does not restore it between
  // repeats, so translated packets are measured as single runs of a fresh copy (like the SYNs).
  const est = frame({ src: '10.1.0.0', dst: '192.168.80.1', proto: 'tcp', sport: 1024, dport: 80, tcpFlags: TCP_ACK, payload: Buffer.alloc(64) });
  const ests = Array.from({ length: N }, () => est);
  rows.push(['established flow (conntrack hit, cached next hop)', runDistinct(prog, ests, XDP_ACTION.TX), runDistinct(anchorFd, ests, XDP_ACTION.TX)]);

  const nonVip = frame({ src: '10.1.0.5', dst: '10.0.0.2', proto: 'tcp', sport: 40000, dport: 22, tcpFlags: TCP_ACK });
  rows.push(['non-VIP packet (passed untouched)', runDistinct(prog, Array.from({ length: N }, () => nonVip), XDP_ACTION.PASS), runDistinct(anchorFd, Array.from({ length: N }, () => nonVip), XDP_ACTION.TX)]);
  const REPEAT = 2_000_000;
  rows.push([`non-VIP packet, ${REPEAT} repeats in one call`, runRepeat(prog, nonVip, REPEAT, XDP_ACTION.PASS), runRepeat(anchorFd, nonVip, REPEAT, XDP_ACTION.TX)]);

  console.log(`edgelb_xdp vs bare XDP_TX under BPF_PROG_TEST_RUN (mean of ${N} single runs, each on a fresh copy of the packet, unless noted)`);
  console.log('case'.padEnd(58), 'edgelb ns', 'anchor ns', 'ratio');
  for (const [name, ours, base] of rows) {
    console.log(name.padEnd(58), ours.toFixed(1).padStart(9), base.toFixed(1).padStart(9), (ours / base).toFixed(2).padStart(5));
  }
  const st = dp.stats();
  console.log(`counters: ct_new ${st.counters.ct_new}, ct_hit ${st.counters.ct_hit}, tx ${st.counters.tx}, conntrack entries ${st.conntrackEntries}`);
} finally {
  if (anchorFd >= 0) native.closeFd(anchorFd);
  await dp?.close({ detach: true });
  native.xdpSetNetns(null);
  deleteTestNetns(NS);
}
