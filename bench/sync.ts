// Benchmark: connection-state sync between two nodes (two network namespaces joined by a veth),
// (a) the most entries/s the sender ships and the receiver applies, (b) the lag from a flow
// becoming established on the sender to its entry existing on the receiver, p50/p99, at 10k new
// flows/s. The sides alternate, on the same two namespaces and wire:
// - edgelb: the real XDP data path and sync thread on each node (bench/lib/sync-node.ts). The
//   sender makes onearm flows by real TCP handshakes (SYN, backend SYN-ACK, client ACK) through its
//   XDP program (BPF_PROG_TEST_RUN); the program reports the flow at the ACK, the sync thread ships
//   it; the receiver's thread inserts both conntrack entries. Established = the ACK left the
//   program; present = the receiver's conntrack map holds the forward entry (polled every ms).
// - anchor: Debian's conntrackd, FTFW mode, one per namespace, syncing the kernel's conntrack. The
//   sender inserts ESTABLISHED+ASSURED entries with a NAT'ed reply tuple (the same client, VIP,
//   backend and SNAT address/port an onearm flow has) with `conntrack -R` (a file per slice) at
//   the rate; conntrackd ships them on the kernel's NEW events; the receiver (DisableExternalCache
//   on) commits each into its kernel table. Established/present = the NEW event on each side
//   (`conntrack -E -o timestamp`).
// Both sides use the same flows (client 10.(100+g>>16).x.y:40000 → 192.168.80.2:80, backend
// 10.77.0.3:8080–8095, SNAT 10.77.0.1) and the same pacing (the flows due by now, every 1 ms for
// edgelb; every 5 ms for the anchor, whose `conntrack -R` loads a file of entries: a process
// per slice). Lag is counted from each flow's own established time on both sides.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Row } from './lib/harness.js';
import { alternate, percentile } from './lib/harness.js';
import type { Benchmark } from './run.js';
import { clientOf, SYNC_BACKEND, SYNC_BACKEND_MAC, SYNC_VIP } from './lib/sync-node.js';

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
  kill(): void {
    if (this.p.exitCode === null && this.p.signalCode === null) this.p.kill('SIGKILL');
  }
}

interface Sample {
  /** entries/s from the first flow established to the last present on the receiver */
  rate?: number;
  lagP50?: number;
  lagP99?: number;
  lost: number;
}

/** Lags (ms) and losses from per-flow established and present times. */
function lags(est: number[], seen: number[]): { lag: number[]; lost: number } {
  const lag: number[] = [];
  let lost = 0;
  for (let k = 0; k < est.length; k++) {
    if (Number.isFinite(seen[k]) && Number.isFinite(est[k])) lag.push(seen[k]! - est[k]!);
    else lost++;
  }
  return { lag, lost };
}
function sample(kind: 'rate' | 'lag', est: number[], seen: number[]): Sample {
  const { lag, lost } = lags(est, seen);
  if (kind === 'lag') return { lagP50: percentile(lag, 50), lagP99: percentile(lag, 99), lost };
  const first = Math.min(...est.filter(Number.isFinite));
  const last = Math.max(...seen.filter(Number.isFinite));
  return { rate: (1000 * lag.length) / (last - first), lost };
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
		SndSocketBuffer 8388608
		RcvSocketBuffer 8388608
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
	NetlinkBufferSize 8388608
	NetlinkBufferSizeMaxGrowth 16777216
	NetlinkEventsReliable Off
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

/** The conntrack -I line of flow g: the same tuple an edgelb onearm flow has. */
const ctLine = (g: number) =>
  `-I -p tcp -s ${clientOf(g)} -d ${SYNC_VIP} --sport 40000 --dport 80 --reply-src ${SYNC_BACKEND} --reply-dst ${NODES[0].ip} --reply-port-src ${8080 + (g & 15)} --reply-port-dst ${1024 + ((g >> 4) % 60000)} --state ESTABLISHED -t 300 -u SEEN_REPLY,ASSURED\n`;

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

      // anchor: conntrackd in each namespace and NEW-event listeners (the feeders come per run)
      for (const i of [0, 1] as const) {
        writeFileSync(join(dir, `conntrackd-${i}.conf`), conntrackdConf(dir, i));
        const d = new Lines(nsExec(ns[i], ['conntrackd', '-C', join(dir, `conntrackd-${i}.conf`)]));
        kids.push(d);
      }
      const evTimes = [new Map<number, number>(), new Map<number, number>()];
      for (const i of [0, 1] as const) {
        const re = /^\[(\d+\.\d+)\].*?src=10\.(\d+)\.(\d+)\.(\d+) /;
        kids.push(
          new Lines(nsExec(ns[i], ['conntrack', '-E', '-e', 'NEW', '-p', 'tcp', '-o', 'timestamp', '-b', '16777216']), (l) => {
            const m = re.exec(l);
            if (!m) return;
            const g = ((Number(m[2]) - 100) << 16) | (Number(m[3]) << 8) | Number(m[4]);
            if (!evTimes[i]!.has(g)) evTimes[i]!.set(g, Number(m[1]) * 1000);
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 1500)); // conntrackd up and the listeners subscribed

      let base = 0;
      const nextBase = (n: number) => {
        const b = base;
        base += n;
        return b;
      };
      const edgelb = async (kind: 'rate' | 'lag', i: number): Promise<Sample> => {
        const n = kind === 'lag' ? N.lag : N.burst;
        const b = nextBase(n);
        const watch = eb.ask<{ seen: number[] }>({ cmd: 'watch', base: b, count: n, timeoutMs: 15_000 + n }, 60_000);
        const { times } = await ea.ask<{ times: number[] }>({ cmd: 'gen', base: b, count: n, rate: kind === 'lag' ? RATE : 0 }, 60_000);
        const s = sample(kind, times, (await watch).seen);
        ctx.log(`run ${i + 1} edgelb ${kind}: ${JSON.stringify(s)} (generated in ${(times[n - 1]! - times[0]!).toFixed(0)} ms)`);
        return s;
      };
      const anchor = async (kind: 'rate' | 'lag', i: number): Promise<Sample> => {
        const n = kind === 'lag' ? N.lag : N.burst;
        const b = nextBase(n);
        evTimes[0]!.clear();
        evTimes[1]!.clear();
        // `conntrack -R` loads a file: one process per slice of due entries (no less
        // than 5 ms of them, so process starts do not eat the CPU the daemons need)
        const feeders: ChildProcess[] = [];
        const feed = (lines: string) => {
          const f = join(dir, `feed-${feeders.length}.txt`);
          writeFileSync(f, lines);
          const p = nsExec(ns[0], ['conntrack', '-R', f]);
          p.stdin!.end();
          p.stdout!.resume();
          p.stderr!.on('data', (d: Buffer) => (feedErr = d.toString().slice(0, 300)));
          feeders.push(p);
        };
        let feedErr = '';
        const start = performance.now();
        if (kind === 'rate') feed(Array.from({ length: n }, (_, k) => ctLine(b + k)).join(''));
        else
          for (let k = 0; k < n; ) {
            const due = Math.min(n, Math.floor(((performance.now() - start) * RATE) / 1000) + 1);
            let chunk = '';
            for (; k < due; k++) chunk += ctLine(b + k);
            if (chunk) feed(chunk);
            if (k < n) await new Promise((r) => setTimeout(r, 5));
          }
        await Promise.all(feeders.map((p) => (p.exitCode !== null ? undefined : new Promise((r) => p.on('exit', r)))));
        if (feedErr) ctx.log(`conntrack -R: ${feedErr}`);
        const deadline = Date.now() + 15_000 + n;
        while (evTimes[1]!.size < n && Date.now() < deadline) {
          const before = evTimes[1]!.size;
          await new Promise((r) => setTimeout(r, 1000));
          if (evTimes[1]!.size === before && evTimes[0]!.size >= n && before > 0) break; // nothing more is coming
        }
        const est = Array.from({ length: n }, (_, k) => evTimes[0]!.get(b + k) ?? NaN);
        const seen = Array.from({ length: n }, (_, k) => evTimes[1]!.get(b + k) ?? NaN);
        const s = sample(kind, est, seen);
        ctx.log(`run ${i + 1} conntrackd ${kind}: ${JSON.stringify(s)} (sender events ${evTimes[0]!.size}/${n}, ${feeders.length} conntrack -R)`);
        for (let f = 0; f < feeders.length; f++) rmSync(join(dir, `feed-${f}.txt`), { force: true });
        // empty both tables for the next run (the flush's deletions travel too: let them settle)
        for (const n2 of ns) sh(['nsenter', `--net=/run/netns/${n2}`, 'conntrack', '-F']);
        await new Promise((r) => setTimeout(r, 1000));
        return s;
      };
      const rate = await alternate(ctx.runs, (i) => edgelb('rate', i), (i) => anchor('rate', i), true);
      const lag = await alternate(ctx.runs, (i) => edgelb('lag', i), (i) => anchor('lag', i), true);
      const stats = await ea.ask<{ stats: Record<string, unknown> }>({ cmd: 'stats' }, 10_000);
      ctx.log(`edgelb sender sync stats: ${JSON.stringify(stats.stats)}`);

      const A = 'Debian conntrackd 1.4.7 FTFW, DisableExternalCache on (commits each entry to the kernel at once), conntrack -I entries with a NAT reply tuple';
      const lost = (xs: Sample[]) => xs.reduce((s, x) => s + x.lost, 0);
      const note = (o: Sample[], t: Sample[], n: number) => `(lost: edgelb ${lost(o)}, conntrackd ${lost(t)} of ${n * ctx.runs})`;
      return [
        { bench: 'sync', figure: `entries/s shipped and applied, ${N.burst} flows established as fast as the sender goes (first established → last present on the receiver)`, unit: 'entries/s', better: 'higher', ours: rate.a.map((x) => x.rate!), anchor: A, theirs: rate.b.map((x) => x.rate!), note: note(rate.a, rate.b, N.burst) },
        { bench: 'sync', figure: `lag established on the sender → entry on the receiver at ${RATE / 1000}k new flows/s (${N.lag} flows), p50`, unit: 'ms', better: 'lower', ours: lag.a.map((x) => x.lagP50!), anchor: A, theirs: lag.b.map((x) => x.lagP50!), note: note(lag.a, lag.b, N.lag) },
        { bench: 'sync', figure: `lag at ${RATE / 1000}k new flows/s, p99`, unit: 'ms', better: 'lower', ours: lag.a.map((x) => x.lagP99!), anchor: A, theirs: lag.b.map((x) => x.lagP99!) },
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
