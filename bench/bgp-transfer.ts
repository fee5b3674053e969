// Benchmark: BGP initial table transfer. Each sender holds the same N routes (/32 IPv4 or /128
// IPv6) before any session starts and waits passively; the BIRD receiver's protocol for that
// sender is enabled (so BIRD makes the TCP connection, the same way for every sender) and the
// figure is from the TCP connect (BIRD's "Connected" event, ms timestamps in its log) to the
// receiver having imported all N (polled on BIRD's control socket every 5 ms, the same for all).
// Senders: edgelb (compiled BgpSpeaker under the daemon's node flags), BIRD (static protocol),
// GoBGP (global RIB loaded through its API, `gobgp mrt inject`, before the session), FRR (bgpd
// `network` statements). Runs rotate through the senders (none always first); between runs the
// receiver's protocol is disabled, which drops that sender's routes. Also each sender's RSS
// (VmHWM, the process peak) after the runs at the largest N.
import { readFile } from 'node:fs/promises';
import { Lab, edgeTopology, edgePlan, waitUntil } from '../test/lab/lib/index.js';
import { BirdControl } from './lib/birdc.js';
import { rotate, summarize, type BenchContext, type Row } from './lib/harness.js';
import { prefixes, startBird, startEdgelb, startFrr, startGobgp, type Family, type Sender, type SenderSpec } from './lib/senders.js';
import type { Benchmark } from './run.js';

const R = edgePlan.router;
const SENDERS = ['edgelb', 'bird', 'gobgp', 'frr'] as const;
type SenderName = (typeof SENDERS)[number];
const ASN: Record<SenderName, number> = { edgelb: 64601, bird: 64602, gobgp: 64603, frr: 64604 };

export async function procStatus(pid: number, key: 'VmHWM' | 'VmRSS'): Promise<number> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(s);
  if (!m) throw new Error(`no ${key} for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/**
 * Wall-clock ms of the first "<proto>: <event>" line ("Connected", "BGP session established") in a
 * BIRD log written with `timeformat log "%F %T.%3f"` and `debug protocols { states, events }`
 * (local time).
 */
export function eventAt(log: string, proto: string, event: string): number {
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^(\\d{4}-\\d\\d-\\d\\d) (\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) <TRACE> ${esc(proto)}: ${esc(event)}$`, 'm').exec(log);
  if (!m) throw new Error(`${proto}: no "${event}" in the receiver's log:\n${log.slice(-1500)}`);
  return new Date(`${m[1]}T${m[2]}`).getTime();
}

/** Wall-clock ms of the first "<proto>: Connected" event (the TCP connect) in a BIRD log. */
export function connectedAt(log: string, proto: string): number {
  return eventAt(log, proto, 'Connected');
}

/**
 * The pauses of a transfer as the receiver saw them: the sum of the intervals of at least
 * `minGapMs` in which its imported count did not change, from the session's establishment
 * (`upMs`, the receiver's "BGP session established"; the TCP connect `fromMs` when unknown) on.
 * `samples` are [wall-clock ms, imported] in polling order; a pause runs from the later of the
 * sample that saw the last change and `upMs` to the sample that saw the next change. BIRD 2.0.12 as
 * a sender leaves part of its table (at 1k all of it) for its main loop's next wake-up, 3 s later
 * (bench/README.md); this measures that pause the same way for every sender. Starting at the
 * establishment keeps the OPEN/KEEPALIVE exchange in every sender's figure (from the connect, a
 * sender that sent nothing before a stall lost it); what a sender does after a pause (BIRD's last
 * UPDATE; at 1k its whole table) stays outside its figure, so that part is a lower bound for it.
 */
export function pausesMs(samples: ReadonlyArray<readonly [number, number]>, fromMs: number, minGapMs = 1000, upMs = fromMs): number {
  let lastT = fromMs;
  let lastN = -1;
  let paused = 0;
  for (const [t, n] of samples) {
    if (t < fromMs) continue;
    if (lastN === -1) lastN = n;
    if (n === lastN) continue;
    const start = Math.max(lastT, upMs);
    if (t - start >= minGapMs) paused += t - start;
    lastT = t;
    lastN = n;
  }
  return paused;
}

function receiverConf(family: Family): string {
  const f = `ipv${family}`;
  const lines = ['router id 10.0.0.1;', 'log stderr all;', 'timeformat log "%F %T.%3f";', 'debug protocols { states, events };', 'protocol device {}'];
  SENDERS.forEach((name, k) => {
    const n = edgePlan.node(k + 1);
    const local = family === 4 ? R.lan4 : R.lan6;
    const peer = family === 4 ? n.v4 : n.v6;
    lines.push(
      `protocol bgp from_${name} {\n  disabled yes;\n  local ${local} as 64512;\n  neighbor ${peer} as ${ASN[name]};\n  hold time 90;\n  connect delay time 0;\n  connect retry time 1;\n  graceful restart off;\n  ${f} { import all; export none; };\n}`,
    );
  });
  return lines.join('\n') + '\n';
}

async function oneFamily(ctx: BenchContext, family: Family, sizes: number[]): Promise<Row[]> {
  const lab = await Lab.create(edgeTopology({ prefix: `bt${family}`, nodes: 4, client: false, ipv6: family === 6 }));
  const rows: Row[] = [];
  try {
    const conf = lab.writeFile('receiver.conf', receiverConf(family), 0o644);
    const sock = lab.path('receiver.ctl');
    const receiver = await lab.spawn('router', ['bird', '-f', '-c', conf, '-s', sock, '-P', lab.path('receiver.pid')], { name: 'receiver' });
    await waitUntil(async () => receiver.running && (await lab.exec('router', ['birdc', '-s', sock, 'show', 'status'], { check: false })).code === 0, (x) => x, { timeoutMs: 15_000, what: 'receiver BIRD' });
    const ctl = await BirdControl.open(sock);
    const imported = (proto: string) => ctl.imported(proto);

    for (const n of sizes) {
      const list = prefixes(family, n);
      const senders = new Map<SenderName, Sender>();
      try {
        for (const [k, name] of SENDERS.entries()) {
          const node = edgePlan.node(k + 1);
          const spec: SenderSpec = { family, asn: ASN[name], address: family === 4 ? node.v4 : node.v6, routerId: node.v4, peer: family === 4 ? R.lan4 : R.lan6, peerAsn: 64512, prefixes: list };
          const tag = `${name}-${family}-${n}`;
          const start = { edgelb: startEdgelb, bird: startBird, gobgp: startGobgp, frr: startFrr }[name];
          senders.set(name, await start(lab, node.name, spec, tag));
        }
        const limitMs = Math.max(30_000, n * 3); // far above any sender's time: a stuck session fails the run
        const paused: Record<SenderName, number[]> = { edgelb: [], bird: [], gobgp: [], frr: [] };
        const transfer = (name: SenderName) => async (): Promise<number> => {
          const proto = `from_${name}`;
          const logFrom = receiver.output().length;
          const samples: Array<[number, number]> = [];
          const t0 = performance.now();
          await ctl.cmd(`enable ${proto}`);
          for (;;) {
            const got = await imported(proto);
            samples.push([Date.now(), got]);
            if (got >= n) break;
            if (performance.now() - t0 > limitMs) throw new Error(`${name}: ${got} of ${n} after ${limitMs / 1000} s`);
            await new Promise((r) => setTimeout(r, 5));
          }
          const tAll = Date.now();
          await ctl.cmd(`disable ${proto}`);
          await waitUntil(() => imported(proto), (x) => x === 0, { timeoutMs: 120_000, intervalMs: 50, what: `${name}'s routes gone` });
          // t0 is the TCP connect as BIRD logged it (BIRD delays its first connect by ~1 s after
          // `enable`, whoever the peer is)
          const log = receiver.output().slice(logFrom);
          const connected = connectedAt(log, proto);
          paused[name].push(pausesMs(samples, connected, 1000, eventAt(log, proto, 'BGP session established')));
          return tAll - connected;
        };
        const times = await rotate(ctx.runs, SENDERS.map((s) => transfer(s)));
        const by = Object.fromEntries(SENDERS.map((s, k) => [s, times[k]!])) as Record<SenderName, number[]>;
        const label = `IPv${family} ${n >= 1000 ? `${n / 1000}k` : n} /${family === 4 ? 32 : 128}`;
        ctx.log(`${label}: ${SENDERS.map((s) => `${s} ${summarize(by[s]).median.toFixed(0)} ms`).join(', ')}`);
        // both sides less their pauses of ≥ 1 s (receiver got nothing): BIRD's idle-loop stall
        // out, the speed of encoding and sending, which "≤ BIRD" is about
        const busy = (s: SenderName) => by[s].map((t, i) => t - paused[s][i]!);
        ctx.log(`${label}: pauses ≥ 1 s: ${SENDERS.map((s) => `${s} ${paused[s].map((x) => x.toFixed(0)).join('/')}`).join(', ')} ms; less pauses: edgelb ${summarize(busy('edgelb')).median.toFixed(0)}, bird ${summarize(busy('bird')).median.toFixed(0)} ms`);
        rows.push({
          bench: 'bgp-transfer',
          figure: `initial transfer ${label}, connect → receiver holds all, less pauses ≥ 1 s`,
          unit: 'ms',
          better: 'lower',
          ours: busy('edgelb'),
          anchor: 'bird sender less its idle-loop stall',
          theirs: busy('bird'),
          goal: '≤ BIRD',
          met: summarize(busy('edgelb')).median <= summarize(busy('bird')).median,
        });
        for (const anchor of ['bird', 'gobgp', 'frr'] as const) {
          rows.push({
            bench: 'bgp-transfer',
            figure: `initial transfer ${label}, connect → receiver holds all`,
            unit: 'ms',
            better: 'lower',
            ours: by.edgelb,
            anchor: anchor === 'bird' ? 'bird sender as is (with its idle-loop stall)' : `${anchor} sender`,
            theirs: by[anchor],
          });
        }
        if (n === sizes[sizes.length - 1]) {
          const rss = Object.fromEntries(await Promise.all(SENDERS.map(async (s) => [s, await procStatus(senders.get(s)!.pid, 'VmHWM')] as const))) as Record<SenderName, number>;
          ctx.log(`peak RSS after ${label}: ${SENDERS.map((s) => `${s} ${rss[s].toFixed(0)} MiB`).join(', ')}`);
          const mine = rss.edgelb;
          rows.push({ bench: 'bgp-transfer', figure: `sender peak RSS holding ${label}`, unit: 'MiB', better: 'lower', ours: [mine], anchor: 'gobgpd', theirs: [rss.gobgp], goal: '≤ 0.5× GoBGP', met: mine <= 0.5 * rss.gobgp, note: '(one process each, after all runs)' });
          rows.push({ bench: 'bgp-transfer', figure: `sender peak RSS holding ${label}`, unit: 'MiB', better: 'lower', ours: [mine], anchor: 'bird', theirs: [rss.bird], note: '(one process each, after all runs)' });
        }
      } finally {
        for (const s of senders.values()) await s.stop().catch(() => undefined);
      }
    }
    ctl.close();
  } catch (e) {
    console.error(lab.logs(15));
    throw e;
  } finally {
    await lab.teardown();
  }
  return rows;
}

const bench: Benchmark = {
  name: 'bgp-transfer',
  title: 'BGP initial table transfer to a BIRD receiver: edgelb vs BIRD, GoBGP, FRR senders (all preloaded, passive)',
  async run(ctx) {
    // BGP_TRANSFER_SIZES=10000 / BGP_TRANSFER_FAMILIES=4: a part of it, for a look (its results file
    // then holds only that part: commit a full default run)
    const only = (v: string | undefined) => (v ? v.split(/[\s,]+/).filter(Boolean).map(Number) : undefined);
    const sizes = only(process.env.BGP_TRANSFER_SIZES) ?? (ctx.quick ? [1000] : [1000, 10_000, 100_000]);
    const families = (only(process.env.BGP_TRANSFER_FAMILIES) ?? [4, 6]) as Family[];
    if (sizes.some((n) => !Number.isInteger(n) || n < 1) || families.some((f) => f !== 4 && f !== 6)) throw new Error('BGP_TRANSFER_SIZES: positive integers; BGP_TRANSFER_FAMILIES: 4 and/or 6');
    const rows: Row[] = [];
    for (const f of families) rows.push(...(await oneFamily(ctx, f, sizes)));
    return rows;
  },
};
export default bench;
