// Benchmark: announcement latency, a VIP change → the route added to / removed from the kernel FIB
// of a BIRD router (seen by `ip monitor route` there). Side A: edgelb's compiled BgpSpeaker
// (bench/lib/speaker-child.mjs) reading changes from a FIFO; side B: a long-lived ExaBGP reading
// the same changes from a FIFO through its API process (`cat FIFO`). Both sessions are up before
// the first change; the clock starts when the bench writes the line into the FIFO, and changes
// alternate between the sides (A add, B add, A withdraw, B withdraw …). The changes are split into
// blocks, one per run: each block gives a p50 and a p99 (the spread); the goal's figure is the
// p50 / p99 over all 1,000 changes of a side.
import { closeSync, openSync, writeSync } from 'node:fs';
import { edgeTopology, edgePlan, run } from '../test/lab/lib/index.js';
import { routeAdded as added, routeDeleted as deleted, withBirdFib } from './lib/bird-fib.js';
import { percentile, type BenchContext, type Row } from './lib/harness.js';
import { startEdgelb } from './lib/senders.js';
import type { Benchmark } from './run.js';

const R = edgePlan.router;
const N1 = edgePlan.node(1);
const N2 = edgePlan.node(2);
const VIP_E = '192.168.80.241';
const VIP_X = '192.168.80.242';

function exabgpConf(fifo: string): string {
  return `process feed {
  run /bin/cat ${fifo};
  encoder text;
}
neighbor ${R.lan4} {
  router-id ${N2.v4};
  local-address ${N2.v4};
  local-as 64602;
  peer-as 64512;
  hold-time 90;
  family { ipv4 unicast; }
  api { processes [ feed ]; }
}
`;
}

const bench: Benchmark = {
  name: 'bgp-latency',
  title: 'VIP change → route in a BIRD router’s kernel FIB: edgelb speaker vs long-lived ExaBGP, both fed through a FIFO',
  async run(ctx: BenchContext): Promise<Row[]> {
    const changes = ctx.quick ? 20 : 1000; // per side: half announcements, half withdrawals
    const spec = edgeTopology({ prefix: 'blat', nodes: 2, client: false, ipv6: false });
    const neighbors = [
      { address: N1.v4, asn: 64601, name: 'edgelb' },
      { address: N2.v4, asn: 64602, name: 'exabgp' },
    ];
    return withBirdFib(spec, { asn: 64512, routerId: R.lan4, neighbors }, {}, async ({ lab, bird, fib }) => {
      const fds: number[] = [];
      try {
        const fifoE = lab.path('edgelb.fifo');
        const fifoX = lab.path('exabgp.fifo');
        await run(['mkfifo', '-m', '0600', fifoE, fifoX]);
        // O_RDWR: opening does not wait for the reader, and the FIFO never sees EOF while we hold it
        fds.push(openSync(fifoE, 'r+'), openSync(fifoX, 'r+'));
        const [fdE, fdX] = fds as [number, number];
        await startEdgelb(lab, N1.name, { family: 4, asn: 64601, address: N1.v4, routerId: N1.v4, peer: R.lan4, peerAsn: 64512, prefixes: [] }, 'edgelb-lat', fifoE);
        const xconf = lab.writeFile('exabgp.conf', exabgpConf(fifoX), 0o644);
        await lab.spawn(N2.name, ['exabgp', xconf], {
          name: 'exabgp',
          env: { exabgp_daemon_user: 'root', exabgp_daemon_drop: 'false', exabgp_daemon_daemonize: 'false', exabgp_log_level: 'WARNING', exabgp_api_ack: 'false' },
        });
        await bird.waitEstablished(undefined, { timeoutMs: 60_000 });

        const change = async (fd: number, line: string, test: (l: string) => boolean) => {
          const ev = fib.next(test);
          const t0 = performance.now();
          writeSync(fd, line + '\n');
          return (await ev) - t0;
        };
        const lat = { eAdd: [] as number[], eDel: [] as number[], xAdd: [] as number[], xDel: [] as number[] };
        for (let i = 0; i < changes / 2; i++) {
          const eFirst = i % 2 === 0;
          const e = async () => lat.eAdd.push(await change(fdE, `A ${VIP_E}/32`, added(VIP_E)));
          const x = async () => lat.xAdd.push(await change(fdX, `announce route ${VIP_X}/32 next-hop self`, added(VIP_X)));
          const ew = async () => lat.eDel.push(await change(fdE, `W ${VIP_E}/32`, deleted(VIP_E)));
          const xw = async () => lat.xDel.push(await change(fdX, `withdraw route ${VIP_X}/32 next-hop self`, deleted(VIP_X)));
          for (const step of eFirst ? [e, x, ew, xw] : [x, e, xw, ew]) await step();
        }
        // per run (block of consecutive changes): p50 and p99
        const blocks = (xs: number[], p: number) => {
          const size = Math.ceil(xs.length / ctx.runs);
          return Array.from({ length: ctx.runs }, (_, k) => percentile(xs.slice(k * size, (k + 1) * size), p));
        };
        ctx.log(`all ${changes / 2} per kind: edgelb add p50 ${percentile(lat.eAdd, 50).toFixed(1)} p99 ${percentile(lat.eAdd, 99).toFixed(1)} ms, exabgp add p50 ${percentile(lat.xAdd, 50).toFixed(1)} p99 ${percentile(lat.xAdd, 99).toFixed(1)} ms`);
        // the figure of the goal: p50 and p99 over all the changes of a side (announcements and
        // withdrawals together), one value per side; the per-run rows below give the spread
        const allE = [...lat.eAdd, ...lat.eDel];
        const allX = [...lat.xAdd, ...lat.xDel];
        const rows: Row[] = [50, 99].map((p) => ({
          bench: 'bgp-latency',
          figure: `VIP change → router FIB, p${p} over all ${allE.length} changes (announce + withdraw)`,
          unit: 'ms',
          better: 'lower' as const,
          ours: [percentile(allE, p)],
          anchor: 'ExaBGP 4 via its API pipe',
          theirs: [percentile(allX, p)],
          ...(p === 99 ? { goal: 'p99 ≤ 10 ms', met: percentile(allE, 99) <= 10 } : {}),
          note: '(one value per side: the percentile of every change)',
        }));
        ctx.log(`all ${allE.length} changes per side: edgelb p50 ${percentile(allE, 50).toFixed(2)} p99 ${percentile(allE, 99).toFixed(2)} ms, exabgp p50 ${percentile(allX, 50).toFixed(2)} p99 ${percentile(allX, 99).toFixed(2)} ms`);
        for (const [kind, ours, theirs] of [
          ['announce', lat.eAdd, lat.xAdd],
          ['withdraw', lat.eDel, lat.xDel],
        ] as const) {
          for (const p of [50, 99]) {
            const a = blocks(ours, p);
            rows.push({
              bench: 'bgp-latency',
              figure: `${kind} → router FIB, p${p} per run of ${Math.ceil(changes / 2 / ctx.runs)}`,
              unit: 'ms',
              better: 'lower',
              ours: a,
              anchor: 'ExaBGP 4 via its API pipe',
              theirs: blocks(theirs, p),
            });
          }
        }
        return rows;
      } finally {
        for (const fd of fds) closeSync(fd);
      }
    });
  },
};
export default bench;
