// Benchmark: connection-state sync between two nodes (two network namespaces joined by a veth),
// (a) the most entries/s the sender ships and the receiver applies, (b) the lag from a flow
// becoming established on the sender to its entry existing in the receiver's table, p50/p99, at
// 10k new flows/s. The sides alternate, on the same two namespaces and wire, each driven and
// observed by one long-lived process per namespace started before the runs (start-up excluded
// for both), with the same pacing (the flows due by now, every 1 ms) and the same observer:
// - edgelb: the real XDP data path and sync thread on each node (bench/lib/sync-node.ts). The
//   sender makes onearm flows by real TCP handshakes (SYN, backend SYN-ACK, client ACK) through its
//   XDP program (BPF_PROG_TEST_RUN), the SYNs and SYN-ACKs before the clock (embryonic flows are
//   never synced); the program reports the flow at the ACK, the sync thread ships it; the
//   receiver's thread inserts both conntrack entries. Established = the ACK went into the program
//   (one kernel call per flow, as the anchor's create); present = the receiver's conntrack map
//   holds the forward entry.
// - anchor: Debian's conntrackd, FTFW mode, one per namespace, syncing the kernel's conntrack,
//   with DisableExternalCache on: the receiver commits each entry into its kernel table as it
//   arrives, the same end point as edgelb's (an entry the data path uses), rather than keeping an
//   external cache that reaches the kernel only at `conntrackd -c` (failover). bench/lib/ct-probe.c
//   creates the sender's entries over ctnetlink, ESTABLISHED + ASSURED with the onearm translation
//   as kernel NAT (the same client, VIP, backend and SNAT address/port an edgelb flow has);
//   conntrackd ships them on the kernel's NEW events. Established = the kernel acknowledged the
//   create; present = a ctnetlink GET of the flow's tuple on the receiver finds it (with the
//   translated reply tuple, checked).
// Presence is polled the same way on both sides: every ms, by the flow's tuple, from the first
// flow not yet seen, up to WATCH_MISSES misses a poll (a flow missed WATCH_HOLE polls is looked up
// every WATCH_HOLE_EVERY polls only, so a lost entry blocks no other). A measurement that is
// incomplete (a flow not created, present untranslated, a lag ≤ 0, an observer error) makes the
// benchmark fail; a flow the receiver never held though looked up to the watch's end (15 s after)
// is the sync's loss, counted in the rows' notes.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Row } from './lib/harness.js';
import { percentile, rotate, summarize } from './lib/harness.js';
import type { Benchmark } from './run.js';
import { SYNC_BACKEND, SYNC_BACKEND_MAC, WATCH_HOLE, WATCH_HOLE_EVERY, WATCH_MISSES } from './lib/sync-node.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODES = [
  { ip: '10.77.0.1', mac: '02:00:00:00:77:01' },
  { ip: '10.77.0.2', mac: '02:00:00:00:77:02' },
] as const;
const ROUTER = { ip: '10.77.0.254', mac: '02:00:00:00:77:fe' };
const RATE = 10_000;

function sh(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A child whose stdout lines are read one at a time. */
class Lines {
  private readonly queue: string[] = [];
  private waiter: ((l: string | undefined) => void) | undefined;
  private closed = false;
  err = '';
  constructor(readonly p: ChildProcess, onLine?: (l: string) => void) {
    createInterface({ input: p.stdout! }).on('line', (l) => {
      if (onLine) return onLine(l);
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(l);
      } else this.queue.push(l);
    });
    p.stderr?.on('data', (d: Buffer) => (this.err = (this.err + d.toString()).slice(-2000)));
    p.on('exit', () => {
      this.closed = true;
      this.waiter?.(undefined);
    });
  }
  next(timeoutMs: number): Promise<string> {
    const q = this.queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    if (this.closed) return Promise.reject(new Error(`child exited: ${this.err}`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no answer in ${timeoutMs} ms: ${this.err}`));
      }, timeoutMs);
      this.waiter = (l) => {
        clearTimeout(t);
        if (l === undefined) reject(new Error(`child exited: ${this.err}`));
        else resolve(l);
      };
    });
  }
  async ask<T>(o: unknown, timeoutMs: number): Promise<T> {
    this.p.stdin!.write(JSON.stringify(o) + '\n');
    return JSON.parse(await this.next(timeoutMs)) as T;
  }
  async askLine<T>(line: string, timeoutMs: number): Promise<T> {
    this.p.stdin!.write(line + '\n');
    return JSON.parse(await this.next(timeoutMs)) as T;
  }
  kill(): void {
    if (this.p.exitCode === null && this.p.signalCode === null) this.p.kill('SIGKILL');
  }
}

interface Sample {
  /** entries/s from the first flow established to the last present on the receiver */
  rate?: number;
  lagP50?: number;
  lagP99?: number;
  /** first → last flow established on the sender (ms): when near the whole interval, the
   *  generator, not the sync, bounds the rate */
  genMs?: number;
  /** flows the receiver never held, though the observer kept looking until the watch's end (a
   *  result: the sync lost them) */
  lost: number;
  /** flows never created, or with a lag ≤ 0, or the observer's own errors (each a measurement bug,
   *  not a result) */
  problems: string[];
}

/** JSON arrays carry NaN as null: back to NaN. */
const nums = (xs: Array<number | null>) => xs.map((x) => (x === null ? NaN : x));

/** A run's sample from per-flow established and present times (NaN: never), with what makes it
 *  incomplete. Lost flows are left out of the lag and the rate, and counted. */
function sample(kind: 'rate' | 'lag', est: number[], seen: number[]): Sample {
  const lag: number[] = [];
  let notMade = 0;
  let notSeen = 0;
  let nonPositive = 0;
  for (let k = 0; k < est.length; k++) {
    if (!Number.isFinite(est[k])) notMade++;
    else if (!Number.isFinite(seen[k])) notSeen++;
    else if (seen[k]! - est[k]! <= 0) nonPositive++;
    else lag.push(seen[k]! - est[k]!);
  }
  const problems: string[] = [];
  if (notMade) problems.push(`${notMade} of ${est.length} flows not established on the sender`);
  if (nonPositive) problems.push(`${nonPositive} of ${est.length} flows present before established (lag ≤ 0)`);
  if (kind === 'lag') return { lagP50: percentile(lag, 50), lagP99: percentile(lag, 99), lost: notSeen, problems };
  let first = Infinity;
  let last = -Infinity;
  for (let k = 0; k < est.length; k++) {
    if (Number.isFinite(est[k])) first = Math.min(first, est[k]!);
    if (Number.isFinite(seen[k])) last = Math.max(last, seen[k]!);
  }
  return { rate: (1000 * lag.length) / (last - first), lost: notSeen, problems };
}

/** bench/lib/ct-probe.c compiled into .cache/bench/ (again when the source is newer). */
function buildProbe(): string {
  const src = join(ROOT, 'bench/lib/ct-probe.c');
  const bin = join(ROOT, '.cache/bench/ct-probe');
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dirname(bin), { recursive: true });
    sh(['cc', '-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, src]);
  }
  return bin;
}

function conntrackdConf(dir: string, i: 0 | 1): string {
  const me = NODES[i].ip;
  const peer = NODES[1 - i]!.ip;
  return `Sync {
	Mode FTFW {
		DisableExternalCache On
		ResendQueueSize 262144
		StartupResync Off
	}
	UDP {
		IPv4_address ${me}
		IPv4_Destination_Address ${peer}
		Port 3780
		Interface eth0
		SndSocketBuffer 16777216
		RcvSocketBuffer 16777216
		Checksum on
	}
}
General {
	Systemd off
	HashSize 65536
	HashLimit 1048576
	LogFile ${dir}/conntrackd-${i}.log
	Syslog off
	LockFile ${dir}/conntrackd-${i}.lock
	UNIX {
		Path ${dir}/conntrackd-${i}.ctl
	}
	NetlinkBufferSize 33554432
	NetlinkBufferSizeMaxGrowth 67108864
	NetlinkEventsReliable Off
	NetlinkOverrunResync 1
	Filter From Userspace {
		Protocol Accept {
			TCP
		}
		Address Ignore {
			IPv4_address 127.0.0.1
		}
	}
}
`;
}

const bench: Benchmark = {
  name: 'sync',
  title: 'connection-state sync between two namespaces: edgelb sync thread (XDP flow reports) vs Debian conntrackd FTFW (kernel conntrack)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const N = ctx.quick ? { lag: 2000, burst: 2000 } : { lag: 20_000, burst: 20_000 };
    const tag = `bsy${process.pid % 100000}`;
    const ns = [`${tag}a`, `${tag}b`] as const;
    const dir = mkdtempSync(join(tmpdir(), 'edgelb-syncbench-'));
    const pins = ns.map((n) => `/sys/fs/bpf/edgelb/${n}`);
    const kids: Lines[] = [];
    try {
      for (const n of ns) sh(['ip', 'netns', 'add', n]);
      sh(['ip', 'link', 'add', 'eth0', 'netns', ns[0], 'address', NODES[0].mac, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[1], 'address', NODES[1].mac]);
      for (const [i, n] of ns.entries()) {
        const ip = (...a: string[]) => sh(['ip', '-n', n, ...a]);
        ip('link', 'set', 'lo', 'up');
        ip('link', 'set', 'eth0', 'up');
        ip('addr', 'add', `${NODES[i]!.ip}/24`, 'dev', 'eth0');
        ip('neigh', 'add', SYNC_BACKEND, 'lladdr', SYNC_BACKEND_MAC, 'dev', 'eth0', 'nud', 'permanent');
        ip('neigh', 'add', ROUTER.ip, 'lladdr', ROUTER.mac, 'dev', 'eth0', 'nud', 'permanent');
        ip('route', 'add', 'default', 'via', ROUTER.ip);
        sh(['nsenter', `--net=/run/netns/${n}`, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.netfilter.nf_conntrack_events=1']);
      }
      const nsExec = (n: string, args: string[]) => spawn('nsenter', [`--net=/run/netns/${n}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });

      // edgelb: one node process per namespace
      const node = (i: 0 | 1) =>
        new Lines(
          nsExec(ns[i], [process.execPath, '--import', 'tsx', join(ROOT, 'bench/lib/sync-node.ts'), JSON.stringify({ name: `${tag}-${i}`, self: NODES[i].ip, peer: NODES[1 - i]!.ip, mac: NODES[i].mac, pinDir: pins[i], port: 11113, conntrackSize: 2 * (ctx.runs + 1) * (N.lag + N.burst), key: 'sync-bench-cluster-key-0123456789abcdef' })]),
        );
      const ea = node(0);
      const eb = node(1);
      kids.push(ea, eb);
      await ea.next(60_000);
      await eb.next(60_000);

      // anchor: conntrackd in each namespace, and a ct-probe in each (creates / looks up entries)
      const probeBin = buildProbe();
      const daemons: Lines[] = [];
      for (const i of [0, 1] as const) {
        writeFileSync(join(dir, `conntrackd-${i}.conf`), conntrackdConf(dir, i));
        daemons.push(new Lines(nsExec(ns[i], ['conntrackd', '-C', join(dir, `conntrackd-${i}.conf`)])));
      }
      kids.push(...daemons);
      // conntrackd 1.4.7 puts itself in SCHED_RR 99 unless told otherwise (its Scheduler clause
      // offers only RR and FIFO); edgelb's sync thread runs as SCHED_OTHER. The anchor runs both
      // ways: like edgelb (the figure's anchor), and as shipped. nsenter execs conntrackd in place.
      const schedule = (rt: boolean) => {
        for (const d of daemons) {
          sh(['chrt', '-a', ...(rt ? ['-r', '-p', '99'] : ['-o', '-p', '0']), String(d.p.pid)]);
          const got = sh(['chrt', '-p', String(d.p.pid)]);
          if (!got.includes(rt ? 'SCHED_RR' : 'SCHED_OTHER')) throw new Error(`conntrackd ${d.p.pid} not rescheduled: ${got}`);
        }
      };
      const pa = new Lines(nsExec(ns[0], [probeBin, String(WATCH_MISSES), String(WATCH_HOLE), String(WATCH_HOLE_EVERY)]));
      const pb = new Lines(nsExec(ns[1], [probeBin, String(WATCH_MISSES), String(WATCH_HOLE), String(WATCH_HOLE_EVERY)]));
      kids.push(pa, pb);
      await pa.next(10_000);
      await pb.next(10_000);
      await new Promise((r) => setTimeout(r, 1500)); // conntrackd up, FTFW hellos exchanged
      const ctCount = (n: string) => Number(sh(['nsenter', `--net=/run/netns/${n}`, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count']).trim());

      let base = 0;
      const nextBase = (n: number) => {
        const b = base;
        base += n;
        return b;
      };
      const problems: string[] = [];
      const check = (who: string, kind: string, i: number, s: Sample) => {
        for (const p of s.problems) problems.push(`run ${i + 1} ${who} ${kind}: ${p}`);
      };
      const edgelb = async (kind: 'rate' | 'lag', i: number): Promise<Sample> => {
        const n = kind === 'lag' ? N.lag : N.burst;
        const b = nextBase(n);
        const watch = eb.ask<{ seen: Array<number | null> }>({ cmd: 'watch', base: b, count: n, timeoutMs: 15_000 + n }, 60_000);
        const { times } = await ea.ask<{ times: Array<number | null> }>({ cmd: 'gen', base: b, count: n, rate: kind === 'lag' ? RATE : 0 }, 60_000);
        const est = nums(times);
        const s = sample(kind, est, nums((await watch).seen));
        s.genMs = est[n - 1]! - est[0]!;
        check('edgelb', kind, i, s);
        ctx.log(`run ${i + 1} edgelb ${kind}: ${JSON.stringify(s)} (generated in ${(est[n - 1]! - est[0]!).toFixed(0)} ms)`);
        return s;
      };
      const anchor = async (kind: 'rate' | 'lag', i: number, rt: boolean): Promise<Sample> => {
        const who = rt ? 'conntrackd SCHED_RR' : 'conntrackd';
        schedule(rt);
        const n = kind === 'lag' ? N.lag : N.burst;
        const b = nextBase(n);
        const watch = pb.askLine<{ seen: Array<number | null>; wrongReply: number; errors: number; firstError: number }>(`watch ${b} ${n} ${15_000 + n}`, 60_000);
        const gen = await pa.askLine<{ times: Array<number | null>; errors: number; firstError: number }>(`gen ${b} ${n} ${kind === 'lag' ? RATE : 0}`, 60_000);
        const w = await watch;
        const est = nums(gen.times);
        const s = sample(kind, est, nums(w.seen));
        if (gen.errors) s.problems.push(`${gen.errors} creates failed on the sender (first: errno ${-gen.firstError})`);
        if (w.wrongReply) s.problems.push(`${w.wrongReply} entries on the receiver without the translated reply tuple`);
        if (w.errors) s.problems.push(`${w.errors} lookups failed on the receiver (first: errno ${-w.firstError})`);
        s.genMs = est[n - 1]! - est[0]!;
        check(who, kind, i, s);
        ctx.log(`run ${i + 1} ${who} ${kind}: ${JSON.stringify(s)} (created in ${(est[n - 1]! - est[0]!).toFixed(0)} ms; tables ${ctCount(ns[0])}/${ctCount(ns[1])})`);
        // empty both tables for the next run: the sender's flush travels to the receiver as
        // deletions; then the receiver's own, and both must read 0 (and stay there) before going on
        sh(['nsenter', `--net=/run/netns/${ns[0]}`, 'conntrack', '-F']);
        const t = Date.now();
        let zeroSince = 0;
        while (Date.now() - t < 20_000) {
          await new Promise((r) => setTimeout(r, 100));
          if (ctCount(ns[1]) > 0 && Date.now() - t > 3000) sh(['nsenter', `--net=/run/netns/${ns[1]}`, 'conntrack', '-F']);
          if (ctCount(ns[0]) + ctCount(ns[1]) === 0) {
            zeroSince ||= Date.now();
            if (Date.now() - zeroSince >= 1000) break;
          } else zeroSince = 0;
        }
        if (!zeroSince) throw new Error(`conntrack tables not empty 20 s after the flush: ${ctCount(ns[0])}/${ctCount(ns[1])}`);
        return s;
      };
      // three sides in rotating order: edgelb, conntrackd as SCHED_OTHER, conntrackd as shipped
      const sides = (kind: 'rate' | 'lag') => [(i: number) => edgelb(kind, i), (i: number) => anchor(kind, i, false), (i: number) => anchor(kind, i, true)];
      const [rateE, rateC, rateR] = (await rotate(ctx.runs, sides('rate'))) as [Sample[], Sample[], Sample[]];
      const [lagE, lagC, lagR] = (await rotate(ctx.runs, sides('lag'))) as [Sample[], Sample[], Sample[]];
      await new Promise((r) => setTimeout(r, 600)); // the sync threads' counters come every 250 ms
      for (const [who, e] of [['sender', ea], ['receiver', eb]] as const) ctx.log(`edgelb ${who} sync stats: ${JSON.stringify((await e.ask<{ stats: unknown }>({ cmd: 'stats' }, 10_000)).stats)}`);
      for (const [i, n] of ns.entries()) {
        const snmp = sh(['nsenter', `--net=/run/netns/${n}`, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp:'));
        if (snmp.length === 2) {
          const [h, v] = snmp.map((l) => l.split(/\s+/).slice(1));
          ctx.log(`${i ? 'receiver' : 'sender'} namespace UDP (both sides' sync): ${h!.map((k, j) => `${k} ${v![j]}`).join(', ')}`);
        }
      }
      for (const i of [0, 1] as const) {
        try {
          const st = sh(['conntrackd', '-C', join(dir, `conntrackd-${i}.conf`), '-s']);
          ctx.log(`conntrackd ${i ? 'receiver' : 'sender'} -s: ${st.replace(/\s+/g, ' ').slice(0, 1500)}`);
        } catch (e) {
          ctx.log(`conntrackd -s: ${e instanceof Error ? e.message : String(e)}`);
        }
        const log = sh(['cat', join(dir, `conntrackd-${i}.log`)]).split('\n').filter((l) => /overrun|resync|ERROR|WARNING/i.test(l));
        if (log.length) ctx.log(`conntrackd ${i ? 'receiver' : 'sender'} log: ${log.slice(0, 10).join(' | ')}`);
      }
      // an incomplete measurement is a failed benchmark, never a figure
      if (problems.length) throw new Error(`sync: incomplete measurements, no figures written:\n  ${problems.join('\n  ')}`);

      const what = "FTFW, DisableExternalCache on (each entry committed into the receiver's kernel table on arrival); entries created over ctnetlink, established, with the onearm NAT";
      const gen = (xs: Sample[]) => summarize(xs.map((x) => x.genMs!)).median.toFixed(0);
      const lost = (a: Sample[], b: Sample[], n: number) => `(flows the receiver never held, all runs: edgelb ${a.reduce((t, x) => t + x.lost, 0)}, anchor ${b.reduce((t, x) => t + x.lost, 0)} of ${n * ctx.runs} each)`;
      const rows = (anchorName: string, rate: Sample[], lag: Sample[]): Row[] => [
        { bench: 'sync', figure: `entries/s shipped and applied, ${N.burst} flows established as fast as the sender goes (first established → last present on the receiver)`, unit: 'entries/s', better: 'higher', ours: rateE.map((x) => x.rate!), anchor: anchorName, theirs: rate.map((x) => x.rate!), note: `(median time to establish all ${N.burst} on the sender: edgelb ${gen(rateE)} ms, anchor ${gen(rate)} ms) ${lost(rateE, rate, N.burst)}` },
        { bench: 'sync', figure: `lag established on the sender → entry present on the receiver at ${RATE / 1000}k new flows/s (${N.lag} flows), p50`, unit: 'ms', better: 'lower', ours: lagE.map((x) => x.lagP50!), anchor: anchorName, theirs: lag.map((x) => x.lagP50!), note: lost(lagE, lag, N.lag) },
        { bench: 'sync', figure: `lag at ${RATE / 1000}k new flows/s, p99`, unit: 'ms', better: 'lower', ours: lagE.map((x) => x.lagP99!), anchor: anchorName, theirs: lag.map((x) => x.lagP99!) },
      ];
      return [
        ...rows(`Debian conntrackd 1.4.7 as SCHED_OTHER like edgelb's sync thread, ${what}`, rateC, lagC),
        ...rows(`Debian conntrackd 1.4.7 as shipped (SCHED_RR priority 99), ${what}`, rateR, lagR),
      ];
    } finally {
      // the edgelb nodes close their data path when stdin ends; the rest, and stragglers, are killed
      for (const k of kids) k.p.stdin?.end();
      const t = Date.now();
      while (kids.some((k) => k.p.exitCode === null && k.p.signalCode === null) && Date.now() - t < 5000) await new Promise((r) => setTimeout(r, 100));
      for (const k of kids) k.kill();
      await new Promise((r) => setTimeout(r, 200));
      for (const n of ns) {
        try {
          sh(['ip', 'netns', 'del', n]);
        } catch {
          /* never made */
        }
      }
      for (const p of pins) rmSync(p, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
export default bench;
