// Diagnostic (not part of `make bench`): where the time of one edgelb L2 failover goes, run by
// run, in the lab and with the timing of bench/failover-l2.ts (deadAfter = budget, heartbeat
// every budget/5). Each run kills the node serving the client's VIP as the benchmark does, but
// with the kill's own time (the middle of `date +%s%N` stamps just before and after `kill -9` in the
// victim's namespace),
// and splits kill → first gratuitous ARP seen by the client into:
//   harness    the benchmark's kill stamp → the real kill (the same for every side it measures)
//   last       the real kill → the victim's last heartbeat accepted by the new owner (≤ 0)
//   deadline   that heartbeat → declared dead by the new owner's heartbeat thread (≥ deadAfter)
//   hop        declared → the main thread's 'dead' event (worker message, event loop)
//   take       'dead' event → shard taken and gratuitous ARP sent (ShardManager + L2Announcer)
//   wire       sent → the client's probe saw it (bridge, the client's own event loop)
// and prints the medians. Measured 2026-12-07 at 30 ms (8-12 runs, load ≈ 1): deadline 31.5 ms
// with the old 2 ms check grid, 30.0 with the exact deadline (Date.now resolution); hop + take
// 3-4 ms (the main thread: worker message, ShardManager, L2Announcer; SCHED_OTHER), the part still
// to remove (send the prepared gratuitous ARP from the heartbeat thread); harness ≈ 9 ms, the same
// for keepalived's side. Usage (root, under the lab lock):
//   node --import tsx bench/failover-l2-trace.ts [budgetMs=30] [runs=10]
import { CLIENT, PORT, analyseOutage, type ProbeResult } from './l2-lab.js';
import { edgeSide, VIP_EDGE } from './failover-l2.js';
import { summarize } from './lib/harness.js';

const budget = Number(process.argv[2] ?? 30);
const runs = Number(process.argv[3] ?? 10);
if (!(budget >= 20) || !(runs >= 1)) throw new Error('usage: failover-l2-trace.ts [budgetMs ≥ 20] [runs ≥ 1]');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cols = ['harness', 'last', 'deadline', 'hop', 'take', 'wire', 'detection', 'outage'] as const;
type Trace = Record<(typeof cols)[number], number>;

const side = await edgeSide(budget);
const l = side.lab;
const traces: Trace[] = [];
try {
  for (let i = 0; i < runs; i++) {
    await side.ensureUp();
    const victim = await side.victim();
    await l.lab.ip(CLIENT.name, ['neigh', 'flush', 'to', VIP_EDGE], { check: false });
    let killT = 0;
    let realKill = NaN;
    const r = await l.client<ProbeResult>('probe', { vip: VIP_EDGE, port: PORT, everyMs: 5, durationMs: 2000 }, async () => {
      await sleep(600);
      const pids = side.pids(victim).join(' ');
      killT = Date.now();
      const out = await l.lab.exec(victim, ['sh', '-c', `date +%s%N; kill -9 ${pids}; date +%s%N; ip link set eth0 down`], { check: false });
      const [t0, t1] = out.stdout.trim().split('\n').map((x) => Number(BigInt(x) / 1000n) / 1000);
      realKill = (t0! + t1!) / 2; // the kill is between the two stamps (a `date` process each)
    });
    await side.afterKill(victim);
    const a = analyseOutage(r, killT, victim, VIP_EDGE, l.macs);
    if (!a) {
      console.log(`run ${i + 1}: not counted (victim not serving at the kill, or no recovery)`);
      continue;
    }
    const evs = l.events(a.newOwner).filter((e) => e.t >= killT);
    const dead = evs.find((e) => e.ev === 'dead' && e.name === victim) as { t: number; lastSeenMs: number; detectedMs: number } | undefined;
    const take = evs.find((e) => e.ev === 'take' && e.shard === 1) as { t: number } | undefined;
    const garp = r.garps.find(([t, v, mac]) => t > killT && v === VIP_EDGE && mac === l.macs.get(a.newOwner));
    if (!dead || !take || !garp) {
      console.log(`run ${i + 1}: ${a.newOwner} has no dead/take event or no GARP seen`);
      continue;
    }
    const t: Trace = {
      harness: realKill - killT,
      last: dead.lastSeenMs - realKill,
      deadline: dead.detectedMs - dead.lastSeenMs,
      hop: dead.t - dead.detectedMs,
      take: take.t - dead.t,
      wire: garp[0] - take.t,
      detection: a.detectionMs,
      outage: a.outageMs,
    };
    traces.push(t);
    console.log(`run ${i + 1} victim ${victim} → ${a.newOwner}: ${cols.map((c) => `${c} ${t[c].toFixed(1)}`).join('  ')}`);
  }
} finally {
  await l.teardown();
}
console.log(`budget ${budget} ms, ${traces.length} runs, medians (ms): ${cols.map((c) => `${c} ${summarize(traces.map((x) => x[c])).median.toFixed(1)}`).join('  ')}`);
console.log(`means (ms): ${cols.map((c) => `${c} ${(traces.reduce((s, x) => s + x[c], 0) / Math.max(1, traces.length)).toFixed(2)}`).join('  ')}`);
