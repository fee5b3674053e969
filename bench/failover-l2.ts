// Benchmark: L2 failover at equal detection budgets, edgelb vs keepalived (VRRPv3). For a budget D,
// edgelb runs with deadAfter D (heartbeat every D/5) and keepalived with the centisecond advert
// interval whose master-down interval (3 × advert + skew, priorities 250/240/230 so the skew is
// ≈ 0.06 × advert) is nearest D. Each side has its own lab (three nodes and a client on a bridge,
// bench/l2-lab.ts), so killing a node of one never disturbs the other; runs alternate A, B.
// A run kills the node serving the client's VIP the same way for both: one external
// `sh -c 'kill -9 PIDS; ip link set eth0 down'` in the victim's namespace, timestamped just
// before it is started; the client's UDP probe (every 5 ms) gives the outage (last reply before →
// first reply from the new owner), split into detection (→ first gratuitous ARP from the new
// owner) and neighbour update. False failovers: the labs idle for 60 s while `stress-ng --cpu`
// loads every CPU; counted as edgelb peer deaths and keepalived transitions to MASTER.
// keepalived runs twice: as shipped (no real-time option, its default) and with
// `vrrp_rt_priority 10` + `vrrp_no_swap` (its real-time option, SCHED_RR 10), the anchor for
// edgelb's default (its heartbeat thread at SCHED_FIFO 10): each as shipped, and both real-time.
// `failover-l2-sweep` counts only the false failovers, at the budgets between (all three labs
// at once under the same stress), to find the smallest budget each side holds without one.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { L2Lab, CLIENT, NODES, PORT, RUNNER, REPO, analyseOutage, type ProbeResult } from './l2-lab.js';
import { waitUntil, type LabProcess } from '../test/lab/lib/index.js';
import { rotate, summarize, type BenchContext, type Row } from './lib/harness.js';
import type { Benchmark } from './run.js';

export const VIP_EDGE = '10.0.0.201'; // shard 1
const VIP_KA = '10.0.0.210';
const PRIOS = [250, 240, 230];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The centisecond advert interval whose VRRPv3 master-down interval is nearest `budgetMs`. */
export function advertFor(budgetMs: number, backupPrio = PRIOS[1]!): { advertCs: number; masterDownMs: number } {
  let best = { advertCs: 1, masterDownMs: Infinity };
  for (let cs = 1; cs <= 400; cs++) {
    const adv = cs * 10;
    const down = 3 * adv + ((256 - backupPrio) * adv) / 256;
    if (Math.abs(down - budgetMs) < Math.abs(best.masterDownMs - budgetMs)) best = { advertCs: cs, masterDownMs: down };
  }
  return best;
}

/** keepalived's real-time option as its manual gives it (SCHED_RR at this priority, memory locked). */
export const KA_RT_PRIORITY = 10;

function keepalivedConf(node: string, prio: number, advertCs: number, realtime: boolean): string {
  return `global_defs {
  router_id ${node}
  vrrp_garp_master_delay 0${realtime ? `\n  vrrp_rt_priority ${KA_RT_PRIORITY}\n  vrrp_no_swap` : ''}
}
vrrp_instance VI_BENCH {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority ${prio}
  advert_int ${(advertCs / 100).toFixed(2)}
  virtual_ipaddress {
    ${VIP_KA}/32 dev eth0
  }
}
`;
}

type Sample = { outageMs: number; detectionMs: number; cacheMs: number };

/** A process's children (/proc/PID/task/PID/children), none when it is gone. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process's scheduling policy (0 other, 1 FIFO, 2 RR; -1 unknown): /proc/PID/stat field 41. */
function schedPolicy(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]);
  } catch {
    return -1;
  }
}

/** One system's lab: start its three nodes, tell who serves the VIP, kill a node, count false failovers. */
export interface Side {
  lab: L2Lab;
  vip: string;
  ensureUp(): Promise<void>;
  victim(): Promise<string>;
  pids(node: string): number[];
  afterKill(node: string): Promise<void>;
  /** when each failure detection so far happened (ms; false ones when nothing was killed) */
  detections(): number[];
}

/** edgelb with deadAfter = the budget and a heartbeat every budget / `per` (default 5, the
 * daemon's default ratio: four heartbeats in a row may be lost; 3 is VRRP's, two may be lost). */
export async function edgeSide(budgetMs: number, per = 5): Promise<Side> {
  const timing = { intervalMs: Math.max(5, Math.round(budgetMs / per)), deadAfterMs: budgetMs, holdDownMs: 500, garpCount: 3, garpIntervalMs: 50 };
  const l = await L2Lab.create(`l2e${per === 5 ? '' : per}${budgetMs}`, timing);
  return {
    lab: l,
    vip: VIP_EDGE,
    async ensureUp() {
      for (const n of NODES) if (!l.runners.get(n)?.running) await l.startNode(n);
      await l.waitBalanced([...NODES], 30_000);
      await sleep(timing.holdDownMs + 700); // hand-overs after a return have settled
      await l.waitBalanced([...NODES], 30_000);
    },
    async victim() {
      return (await l.waitBalanced([...NODES], 30_000))[1]!;
    },
    pids: (n) => [l.runners.get(n)!.pid],
    async afterKill(n) {
      await l.runners.get(n)!.exited;
      await l.lab.ip(n, ['link', 'set', 'eth0', 'up']);
    },
    detections: () => NODES.flatMap((n) => l.events(n).filter((e) => e.ev === 'dead').map((e) => e.t)),
  };
}

async function kaSide(budgetMs: number, advertCs: number, realtime: boolean): Promise<Side> {
  const l = await L2Lab.create(`l2${realtime ? 'r' : 'k'}${budgetMs}`, {});
  const kas = new Map<string, LabProcess>();
  const resp = new Map<string, LabProcess>();
  const start = async (n: string, i: number) => {
    const conf = l.lab.writeFile(`ka-${n}.conf`, keepalivedConf(n, PRIOS[i]!, advertCs, realtime), 0o644);
    const dir = l.lab.path('');
    // a killed instance leaves its pid files; a reused pid in one makes a new keepalived think it runs
    for (const f of [`ka-${n}.pid`, `ka-${n}-vrrp.pid`, `ka-${n}-chk.pid`]) rmSync(l.lab.path(f), { force: true });
    kas.set(n, await l.lab.spawn(n, ['keepalived', '-n', '-l', '-D', '-P', '-f', conf, '-p', `${dir}/ka-${n}.pid`, '-r', `${dir}/ka-${n}-vrrp.pid`, '-c', `${dir}/ka-${n}-chk.pid`], { name: `ka-${n}` }));
    const p = await l.lab.spawn(n, ['node', '--import', 'tsx', RUNNER, 'respond', JSON.stringify({ name: n, vips: [VIP_KA], port: PORT })], { name: `resp-${n}`, cwd: REPO });
    await waitUntil(() => p.output().includes('"started"') || !p.running, { timeoutMs: 20_000, what: `responder ${n}` });
    resp.set(n, p);
  };
  const master = async () => {
    for (const n of NODES) {
      const j = JSON.parse((await l.lab.ip(n, ['-j', 'addr', 'show', 'dev', 'eth0'])).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
      if (j[0]!.addr_info.some((a) => a.local === VIP_KA)) return n;
    }
    return undefined;
  };
  /** keepalived's VRRP child (its pid file), 0 when there is none */
  const vrrpPid = (n: string) => {
    try {
      return Number(readFileSync(l.lab.path(`ka-${n}-vrrp.pid`), 'utf8').trim()) || 0;
    } catch {
      return 0;
    }
  };
  return {
    lab: l,
    vip: VIP_KA,
    async ensureUp() {
      for (const [k, n] of NODES.entries()) if (!kas.get(n)?.running) await start(n, k);
      await sleep(1500); // preemption back to the highest priority, gratuitous ARPs done
      // the real-time anchor must be one: its VRRP child's policy (/proc/PID/stat field 41)
      for (const [k, n] of NODES.entries()) {
        const child = () => waitUntil(() => schedPolicy(childrenOf(kas.get(n)!.pid)[0] ?? 0), (p) => p >= 0, { timeoutMs: 10_000, what: `keepalived ${n}'s VRRP child` });
        // a keepalived that came up without its VRRP child is started again once (seen once in a
        // full run: the parent alive, no child for 10 s); a second miss fails the benchmark
        const policy = await child().catch(async () => {
          for (const c of childrenOf(kas.get(n)!.pid)) {
            try {
              process.kill(c, 'SIGKILL');
            } catch {
              /* gone already */
            }
          }
          await kas.get(n)!.stop('SIGKILL');
          await resp.get(n)?.stop('SIGKILL');
          await start(n, k);
          await sleep(1500);
          return child();
        });
        if (realtime !== (policy === 1 || policy === 2)) throw new Error(`keepalived on ${n}: VRRP child's policy ${policy}, wanted ${realtime ? 'SCHED_RR/FIFO' : 'SCHED_OTHER'}`);
      }
    },
    async victim() {
      return (await waitUntil(() => master(), { timeoutMs: 10_000, what: 'a keepalived master' }))!;
    },
    pids: (n) => [...new Set([vrrpPid(n), ...childrenOf(kas.get(n)!.pid), kas.get(n)!.pid, resp.get(n)!.pid])].filter((p) => p > 0),
    async afterKill(n) {
      await kas.get(n)!.exited;
      await resp.get(n)!.exited;
      await l.lab.ip(n, ['addr', 'del', `${VIP_KA}/32`, 'dev', 'eth0'], { check: false });
      await l.lab.ip(n, ['link', 'set', 'eth0', 'up']);
    },
    // keepalived -l stamps its lines to the second ("Mon Dec  7 08:42:52 2026: ...")
    detections: () =>
      l.lab.processes
        .filter((p) => p.name.startsWith('ka-'))
        .flatMap((p) => p.output().split('\n').filter((line) => line.includes('Entering MASTER STATE')))
        .map((line) => Date.parse(/(\w{3} \w{3} +\d+ [\d:]{8} \d{4}):/.exec(line)?.[1] ?? '') || Date.now()),
  };
}

/** One failover run on a side: returns the analysed outage, or undefined when the run does not count. */
async function failoverRun(s: Side): Promise<Sample | undefined> {
  await s.ensureUp();
  const victim = await s.victim();
  await s.lab.lab.ip(CLIENT.name, ['neigh', 'flush', 'to', s.vip], { check: false }); // each run starts resolved afresh
  let killT = 0;
  const r = await s.lab.client<ProbeResult>('probe', { vip: s.vip, port: PORT, everyMs: 5, durationMs: 2000 }, async () => {
    await sleep(600);
    const pids = s.pids(victim).join(' ');
    killT = Date.now();
    await s.lab.lab.exec(victim, ['sh', '-c', `kill -9 ${pids}; ip link set eth0 down`], { check: false });
  });
  await s.afterKill(victim);
  return analyseOutage(r, killT, victim, s.vip, s.lab.macs);
}

async function sampled(s: Side, name: string, ctx: BenchContext): Promise<Sample> {
  for (let tries = 0; tries < 5; tries++) {
    const a = await failoverRun(s);
    if (a) return a;
    ctx.log(`${name}: run not counted (the victim was not serving the client at the kill, or no recovery); again`);
  }
  throw new Error(`${name}: 5 runs in a row did not count\n${s.lab.lab.logs(10)}`);
}

/** Detections less than 1 s apart are one incident (one hiccup, seen by one or more nodes). */
export function incidents(times: readonly number[]): number {
  const t = [...times].sort((a, b) => a - b);
  return t.filter((x, i) => i === 0 || x - t[i - 1]! > 1000).length;
}

/**
 * Every side idle at once under `stress-ng --cpu 0` for `seconds`: the detections each side made
 * (edgelb: peer deaths, each observer counts; keepalived: transitions to MASTER) and the incidents
 * they make up (detections less than 1 s apart counted once: "a VIP moved" once per hiccup).
 */
async function falseFailovers(sides: Side[], seconds: number): Promise<Array<{ events: number; incidents: number }>> {
  for (const s of sides) await s.ensureUp();
  const before = sides.map((s) => s.detections());
  const stress = spawn('stress-ng', ['--cpu', '0', '--timeout', `${seconds}s`, '--quiet'], { stdio: 'ignore' });
  const code = await new Promise<number>((resolve, reject) => {
    stress.once('error', reject);
    stress.once('exit', (c) => resolve(c ?? -1));
  });
  if (code !== 0) throw new Error(`stress-ng exited ${code}`);
  return sides.map((s, i) => {
    // what is new since `before` (a multiset difference: new lines of a process come between others')
    const old = new Map<number, number>();
    for (const t of before[i]!) old.set(t, (old.get(t) ?? 0) + 1);
    const fresh = s.detections().filter((t) => {
      const k = old.get(t) ?? 0;
      if (k > 0) old.set(t, k - 1);
      return k === 0;
    });
    return { events: fresh.length, incidents: incidents(fresh) };
  });
}

const KA = 'keepalived VRRPv3';
const KA_RT = `keepalived VRRPv3, vrrp_rt_priority ${KA_RT_PRIORITY}`;
const kaLabel = (advertCs: number, masterDownMs: number) => `keepalived advert_int ${(advertCs / 100).toFixed(2)} s, master-down ${masterDownMs.toFixed(0)} ms`;

/**
 * The benchmark at one detection budget (a part of its own, so each locked run stays short):
 * `failover-l2` compares at 150 ms, `failover-l2-tight` at 30 ms — a budget keepalived can only
 * reach with its smallest advert interval (0.01 s, master-down ≈ 31 ms). Four sides rotate:
 * edgelb (its default: heartbeat every budget / 5, thread SCHED_FIFO 10), keepalived as shipped,
 * keepalived with its real-time option, and edgelb with VRRP's loss tolerance (heartbeat every
 * budget / 3: like keepalived's advert ≈ budget / 3, two lost in a row tolerated, not four) — the
 * like-for-like row: at an equal budget a sparser heartbeat detects sooner on average (the last
 * one before a death is on average half an interval old), and costs loss tolerance, which the
 * false-failover rows of the same run show.
 */
export function failoverBench(name: string, budget: number): Benchmark {
  return {
    name,
    title: `L2 failover at an equal detection budget of ${budget} ms, edgelb vs keepalived VRRPv3 (as shipped, and real-time); false failovers under stress-ng`,
    async run(ctx: BenchContext): Promise<Row[]> {
      const runs = ctx.quick ? 1 : Math.max(20, ctx.runs);
      const stressS = ctx.quick ? 3 : 60;
      const rows: Row[] = [];
      const { advertCs, masterDownMs } = advertFor(budget);
      const sides: Side[] = [];
      try {
        sides.push(await edgeSide(budget), await kaSide(budget, advertCs, false), await kaSide(budget, advertCs, true), await edgeSide(budget, 3));
        const [e, k, r, e3] = sides as [Side, Side, Side, Side];
        const [a, b, c, a3] = (await rotate(runs, [() => sampled(e, 'edgelb', ctx), () => sampled(k, 'keepalived', ctx), () => sampled(r, 'keepalived-rt', ctx), () => sampled(e3, 'edgelb-3', ctx)])) as [Sample[], Sample[], Sample[], Sample[]];
        // false failovers: all four idle at once under CPU stress
        const [fe, fk, fr, fe3] = (await falseFailovers(sides, stressS)) as Array<{ events: number; incidents: number }>;
        const [falseE, falseK, falseR] = [fe!.events, fk!.events, fr!.events];
        const label = `budget ${budget} ms (edgelb deadAfter ${budget}; ${kaLabel(advertCs, masterDownMs)})`;
        const p50 = (xs: Sample[]) => summarize(xs.map((x) => x.outageMs)).median;
        ctx.log(`${label}: outage p50 edgelb ${p50(a)} ms (heartbeat budget / 3: ${p50(a3)} ms), keepalived ${p50(b)} ms, keepalived real-time ${p50(c)} ms; false failovers in ${stressS} s of stress: edgelb ${falseE} (budget / 3: ${fe3!.events}), keepalived ${falseK}, keepalived real-time ${falseR}; incidents ${fe!.incidents}, ${fk!.incidents}, ${fr!.incidents}`);
        for (const [anchor, theirs, both] of [
          [KA, b, ''],
          [KA_RT, c, ' (both real-time)'],
        ] as const) {
          for (const [what, key] of [
            ['client outage', 'outageMs'],
            ['detection + announce', 'detectionMs'],
            ['neighbour update', 'cacheMs'],
          ] as const) {
            // detection and neighbour update are NaN when the client saw no gratuitous ARP from the
            // new owner in a run: those runs are left out of these two rows (the outage row has all)
            const ours = a.map((x) => x[key]).filter(Number.isFinite);
            rows.push({
              bench: name,
              figure: `${what}${both}, ${label}`,
              unit: 'ms',
              better: 'lower',
              ours,
              anchor,
              theirs: theirs.map((x) => x[key]).filter(Number.isFinite),
              ...(key === 'outageMs' && budget <= 60 ? { goal: 'p50 ≤ 60 ms', met: summarize(ours).median <= 60 } : {}),
            });
          }
        }
        const ff = `false failovers in ${stressS} s under stress-ng --cpu (all CPUs), budget ${budget} ms`;
        rows.push({ bench: name, figure: ff, unit: 'events', better: 'lower', ours: [falseE], anchor: KA, theirs: [falseK], goal: 'zero', met: falseE === 0 });
        rows.push({ bench: name, figure: `${ff} (both real-time)`, unit: 'events', better: 'lower', ours: [falseE], anchor: KA_RT, theirs: [falseR], goal: 'zero', met: falseE === 0 });
        const fi = `false-failover incidents (detections < 1 s apart counted once) in ${stressS} s under stress-ng, budget ${budget} ms`;
        rows.push({ bench: name, figure: fi, unit: 'incidents', better: 'lower', ours: [fe!.incidents], anchor: KA, theirs: [fk!.incidents] });
        rows.push({ bench: name, figure: `${fi} (both real-time)`, unit: 'incidents', better: 'lower', ours: [fe!.incidents], anchor: KA_RT, theirs: [fr!.incidents] });
        // like for like: edgelb at VRRP's loss tolerance (heartbeat every budget / 3) beside keepalived
        const l3 = `${label}, edgelb heartbeat every ${Math.max(5, Math.round(budget / 3))} ms (VRRP's loss tolerance)`;
        for (const [anchor, theirs, both] of [
          [KA, b, ''],
          [KA_RT, c, ' (both real-time)'],
        ] as const) {
          rows.push({ bench: name, figure: `client outage${both}, ${l3}`, unit: 'ms', better: 'lower', ours: a3.map((x) => x.outageMs), anchor, theirs: theirs.map((x) => x.outageMs) });
        }
        rows.push({ bench: name, figure: `${ff}, edgelb heartbeat every budget / 3`, unit: 'events', better: 'lower', ours: [fe3!.events], anchor: KA, theirs: [falseK], goal: 'zero', met: fe3!.events === 0 });
      } finally {
        for (const s of sides) await s.lab.teardown();
      }
      return rows;
    },
  };
}

/**
 * False failovers only, at the budgets between the two parts: for each budget, the three sides'
 * labs idle at once for 60 s under `stress-ng --cpu 0` (one run per budget: a count, like the
 * parts' false-failover rows). FAILOVER_SWEEP_BUDGETS="40 50 75 100" overrides the budgets.
 */
export const sweep: Benchmark = {
  name: 'failover-l2-sweep',
  title: 'L2 failover: false failovers under stress-ng at detection budgets between 30 and 150 ms, edgelb vs keepalived VRRPv3 (as shipped, and real-time)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const stressS = ctx.quick ? 3 : 60;
    const budgets = (process.env.FAILOVER_SWEEP_BUDGETS ?? (ctx.quick ? '50' : '40 50 75 100')).split(/\s+/).filter(Boolean).map(Number);
    if (!budgets.length || budgets.some((b) => !Number.isInteger(b) || b < 20 || b > 1000)) throw new Error(`FAILOVER_SWEEP_BUDGETS: integers 20..1000 wanted, got ${process.env.FAILOVER_SWEEP_BUDGETS}`);
    const rows: Row[] = [];
    for (const budget of budgets) {
      const { advertCs, masterDownMs } = advertFor(budget);
      const sides: Side[] = [];
      try {
        sides.push(await edgeSide(budget), await kaSide(budget, advertCs, false), await kaSide(budget, advertCs, true));
        const [fe, fk, fr] = (await falseFailovers(sides, stressS)) as Array<{ events: number; incidents: number }>;
        const [falseE, falseK, falseR] = [fe!.events, fk!.events, fr!.events];
        ctx.log(`budget ${budget} ms (${kaLabel(advertCs, masterDownMs)}): false failovers in ${stressS} s of stress: edgelb ${falseE}, keepalived ${falseK}, keepalived real-time ${falseR}; incidents ${fe!.incidents}, ${fk!.incidents}, ${fr!.incidents}`);
        const ff = `false failovers in ${stressS} s under stress-ng --cpu (all CPUs), budget ${budget} ms (${kaLabel(advertCs, masterDownMs)})`;
        rows.push({ bench: 'failover-l2-sweep', figure: ff, unit: 'events', better: 'lower', ours: [falseE], anchor: KA, theirs: [falseK], goal: 'zero', met: falseE === 0 });
        rows.push({ bench: 'failover-l2-sweep', figure: `${ff} (both real-time)`, unit: 'events', better: 'lower', ours: [falseE], anchor: KA_RT, theirs: [falseR], goal: 'zero', met: falseE === 0 });
        const fi = `false-failover incidents (detections < 1 s apart counted once), budget ${budget} ms`;
        rows.push({ bench: 'failover-l2-sweep', figure: fi, unit: 'incidents', better: 'lower', ours: [fe!.incidents], anchor: KA, theirs: [fk!.incidents] });
        rows.push({ bench: 'failover-l2-sweep', figure: `${fi} (both real-time)`, unit: 'incidents', better: 'lower', ours: [fe!.incidents], anchor: KA_RT, theirs: [fr!.incidents] });
      } finally {
        for (const s of sides) await s.lab.teardown();
      }
    }
    return rows;
  },
};

export default failoverBench('failover-l2', 150);
export const tight = failoverBench('failover-l2-tight', 30);
