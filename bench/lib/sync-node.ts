// One edgelb node of the sync benchmark (bench/sync.ts), run inside its network namespace with
// `nsenter --net` (not `ip netns exec`, which hides /sys/fs/bpf): the real XDP data path on eth0
// (generic mode, its own pins) with connection sync on (the real sync thread, ConnSync, over UDP
// to the other node's namespace). Commands come as JSON lines on stdin, answers as JSON lines on
// stdout:
//   {cmd:"gen", base, count, rate}  sender: `count` onearm flows, each a real TCP handshake (SYN,
//       the backend's SYN-ACK, the client's ACK) through the XDP program by BPF_PROG_TEST_RUN. The
//       SYNs and SYN-ACKs go before the clock starts (embryonic flows are never synced); the ACKs,
//       which establish the flows, at `rate` flows/s in 1 ms slices (0: as fast as it goes).
//       Answers the CLOCK_MONOTONIC time (ms) at which each flow's ACK went into the program (it
//       reports the flow established while it runs: causally after).
//   {cmd:"watch", base, count, timeoutMs}  receiver: polls its conntrack map every ms for those
//       flows' forward entries (from the first unseen flow, up to WATCH_MISSES misses a poll, a
//       flow missed WATCH_HOLE polls skipped but for every WATCH_HOLE_EVERY-th, like the anchor's
//       bench/lib/ct-probe.c) and answers when each appeared (null: never): the time
//       the lookup that found it returned.
//   {cmd:"stats"}  the sync thread's counters.
// Flow g: client 10.(100+g>>16).(g>>8).(g) port 40000 → VIP 192.168.80.2:80, so flows are unique.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { loadNative } from '../../src/native/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { XdpDataplane } from '../../src/dataplane/xdp.js';
import { xdpNativeFrom } from '../../src/dataplane/native.js';
import { ConnSync } from '../../src/sync/conn-sync.js';
import { frame, TCP_ACK, TCP_SYN } from '../../test/unit/dataplane/pkt.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SYNC_VIP = '192.168.80.2';
export const SYNC_BACKEND = '10.77.0.3';
export const SYNC_BACKEND_MAC = '02:00:00:00:77:03';
/** Backend ports: 16 of them, so SNAT ports (one pool per backend tuple) never run out. */
export const SYNC_BACKEND_PORTS = Array.from({ length: 16 }, (_, i) => 8080 + i);
/** A receiver's poll looks flows up from the first unseen one and stops at this many misses. */
export const WATCH_MISSES = 16;
/** …where a flow missed this many polls is a hole: it no longer counts, and is looked up only… */
export const WATCH_HOLE = 100;
/** …every this many polls. */
export const WATCH_HOLE_EVERY = 10;
export const clientOf = (g: number) => `10.${100 + ((g >> 16) & 0x7f)}.${(g >> 8) & 255}.${g & 255}`;

interface Args {
  name: string;
  self: string;
  peer: string;
  mac: string;
  pinDir: string;
  port: number;
  conntrackSize: number;
  key: string;
}

/** Where the TCP header starts in frame()'s IPv4 frames (Ethernet 14 + IPv4 20). */
const TCP_OFF = 34;
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]!) as Args;
  const native = xdpNativeFrom(loadNative());
  const dp = new XdpDataplane({
    node: { name: a.name, routerId: a.self, interface: 'eth0' },
    // embryonic timeout 60 s: a run opens its flows (SYN, SYN-ACK) before the clock, the ACKs follow
    spec: { attachMode: 'generic', maglevSize: 251, conntrackSize: a.conntrackSize, enabled: true, pinRoot: a.pinDir, tcpSynTimeout: 60 },
    logger: silentLogger(),
    registry: new Registry(),
    native,
    manageNeighbours: false,
    vipRoutes: false,
    maxServices: 8,
    maxBackends: 32,
    sync: true,
  });
  await dp.open();
  await dp.setServices([
    { name: 'web', vip: SYNC_VIP, port: 80, protocol: 'tcp', mode: 'onearm', backends: SYNC_BACKEND_PORTS.map((port) => ({ address: SYNC_BACKEND, port })), epSelect: 'maglev', timeoutSec: 300 },
  ]);
  const sync = new ConnSync({
    self: a.name,
    listen: `${a.self}:${a.port + 1}`,
    members: [a.self, a.peer],
    port: a.port,
    key: Buffer.from(a.key),
    pinDir: dp.pinDir,
    clockObject: join(ROOT, 'build/bpf/ct_sync.bpf.o'),
    refreshMs: 600_000, // no refresh walk during a run: only new flows travel
    queueLimit: 65536,
    helloMs: 200,
    logger: silentLogger(),
    registry: new Registry(),
  });
  await sync.start();
  const ifindex = native.ifNameToIndex('eth0');
  const ctx = (len: number) => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(len, 4);
    b.writeUInt32LE(ifindex, 12);
    return b;
  };
  const run = (pkt: Buffer) => native.progTestRun(dp.programFd, pkt, 1, { ctx: ctx(pkt.length) });
  // The backend's SYN-ACK differs between flows only in its ports (the backend's, and the SNAT
  // port the program chose): one template, ports patched and the TCP checksum updated (RFC 1624).
  const synAck = frame({ src: SYNC_BACKEND, dst: a.self, proto: 'tcp', sport: 0, dport: 0, tcpFlags: TCP_SYN | TCP_ACK, srcMac: SYNC_BACKEND_MAC, dstMac: a.mac });
  const synAckSum = (~synAck.readUInt16BE(TCP_OFF + 16) & 0xffff) >>> 0;
  const synAckFor = (bport: number, sport: number): Buffer => {
    synAck.writeUInt16BE(bport, TCP_OFF);
    synAck.writeUInt16BE(sport, TCP_OFF + 2);
    let sum = synAckSum + bport + sport;
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    synAck.writeUInt16BE(~sum & 0xffff, TCP_OFF + 16);
    return synAck;
  };
  const backendBytes = Buffer.from(SYNC_BACKEND.split('.').map(Number));
  /** The client's SYN and ACK of flow g, built before a run's clock starts. */
  const framesOf = (g: number) => ({
    syn: frame({ src: clientOf(g), dst: SYNC_VIP, proto: 'tcp', sport: 40000, dport: 80, tcpFlags: TCP_SYN, dstMac: a.mac }),
    ack: frame({ src: clientOf(g), dst: SYNC_VIP, proto: 'tcp', sport: 40000, dport: 80, tcpFlags: TCP_ACK, dstMac: a.mac }),
  });
  /** Flow g's SYN and the backend's SYN-ACK: the flow is embryonic (never synced) until its ACK. */
  const open = (g: number, f: { syn: Buffer; ack: Buffer }): void => {
    const syn = run(f.syn).data;
    if (syn.length < TCP_OFF + 4 || !syn.subarray(30, 34).equals(backendBytes)) throw new Error(`flow ${g}: SYN not translated`);
    run(synAckFor(syn.readUInt16BE(TCP_OFF + 2), syn.readUInt16BE(TCP_OFF)));
  };
  const fwdKey = (g: number) => native.xdpEncode('ctKey', { src: clientOf(g), dst: SYNC_VIP, sport: 40000, dport: 80, protocol: 'tcp' });
  const ct4 = dp.conntrackFd(4);

  // ready once the peer's sync thread is known (hellos both ways)
  const t0 = Date.now();
  while (sync.view().peersKnown < 1) {
    if (Date.now() - t0 > 20_000) throw new Error('sync peer not known after 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  out({ ready: true });

  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const c = JSON.parse(line) as { cmd: string; base: number; count: number; rate: number; timeoutMs: number };
    if (c.cmd === 'gen') {
      // before the clock: the frames, and each flow's SYN and SYN-ACK (embryonic, nothing to
      // sync); timed: the ACKs, one program run each, as the anchor's one ctnetlink create
      const frames = Array.from({ length: c.count }, (_, k) => framesOf(c.base + k));
      for (let k = 0; k < c.count; k++) open(c.base + k, frames[k]!);
      const times = new Array<number>(c.count);
      const start = nowMs();
      for (let k = 0; k < c.count; ) {
        // flows due by now at the target rate (all at once when rate is 0)
        const due = c.rate > 0 ? Math.min(c.count, Math.floor(((nowMs() - start) * c.rate) / 1000) + 1) : c.count;
        for (; k < due; k++) {
          times[k] = nowMs(); // the program reports the flow established while it runs on the ACK
          run(frames[k]!.ack);
        }
        if (k < c.count) await new Promise((r) => setTimeout(r, 1));
      }
      out({ times });
    } else if (c.cmd === 'watch') {
      const seen = new Array<number>(c.count).fill(NaN);
      const missed = new Uint32Array(c.count); // polls that looked a flow up in vain
      const end = nowMs() + c.timeoutMs;
      let next = 0; // flows arrive about in order: check from the first not yet seen
      let left = c.count;
      for (let poll = 0; left > 0 && nowMs() < end; poll++) {
        // up to WATCH_MISSES misses per poll; a flow missed WATCH_HOLE times no longer counts
        // and is looked up every WATCH_HOLE_EVERY polls, so a lost entry never blocks the ones
        // behind it (bench/lib/ct-probe.c: the same)
        let misses = 0;
        for (let k = next; k < c.count && misses < WATCH_MISSES; k++) {
          if (!Number.isNaN(seen[k]!)) continue;
          const hole = missed[k]! >= WATCH_HOLE;
          if (hole && poll % WATCH_HOLE_EVERY !== 0) continue;
          if (native.mapLookup(ct4, fwdKey(c.base + k))) {
            seen[k] = nowMs(); // present by the time the lookup that found it returned
            left--;
          } else {
            missed[k]!++;
            if (!hole) misses++;
          }
        }
        while (next < c.count && !Number.isNaN(seen[next]!)) next++;
        await new Promise((r) => setTimeout(r, 1));
      }
      out({ seen });
    } else if (c.cmd === 'stats') {
      out({ stats: sync.view() });
    } else if (c.cmd === 'exit') break;
  }
  rl.close();
  await sync.stop();
  await dp.close({ detach: true });
  out({ closed: true });
}

// bench/sync.ts imports the constants: run only as the node process itself
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`sync-node: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
