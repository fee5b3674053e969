// The XDP implementation of the BFD offload port (offload.ts, docs/bfd.md): writes the
// pinned tables native/bpf/bfd.h answers from (edgelb_bfd sessions, edgelb_bfd_fr frames signed
// ahead, edgelb_bfd_ls the daemon's lease) and reads them back for the next daemon. The maps are
// pinned with the data path's, so they outlive the daemon like the XDP program does. Layouts stay
// in the addon (xdpEncode/xdpDecode 'bfdSess', 'bfdFrame', 'bfdLease').
import { endianness } from 'node:os';
import { hrtime } from 'node:process';
import { performance } from 'node:perf_hooks';
import { EdgelbError } from '../lib/errors.js';
import type { NativeBinding } from '../native/index.js';
import type { BfdOffloadPort, BfdOffloadProgress, BfdOffloadSession } from './offload.js';

export type BfdOffloadNative = Pick<NativeBinding, 'xdpEncode' | 'xdpDecode' | 'xdpLayout' | 'mapLookup' | 'mapUpdate' | 'mapDelete' | 'mapGetNextKey'>;

const LE = endianness() === 'LE';
/** A u32 map key in host byte order (the table's keys: our discriminators). */
function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(n >>> 0);
  else b.writeUInt32BE(n >>> 0);
  return b;
}
const readU32 = (b: Buffer) => (LE ? b.readUInt32LE(0) : b.readUInt32BE(0));

export interface XdpBfdOffloadOptions {
  native: BfdOffloadNative;
  /** fds of the pinned maps (XdpDataplane.mapFd('bfd' | 'bfdFrames' | 'bfdLease'), or the pins). */
  fds: { sessions: number; frames: number; lease: number };
  /** The clock renewLease's untilMs is on (the BFD engine's); default performance.now. */
  now?: () => number;
  /** CLOCK_MONOTONIC in ns, bpf_ktime_get_ns's clock; default process.hrtime.bigint. */
  monoNs?: () => bigint;
  /** The longest the offload answers after the daemon's last renewal (default 60 s): a daemon that
   *  stays away longer is let go (a meticulous window ends it sooner). */
  maxCoverMs?: number;
}

const BIG_MS = 1_000_000n;

/** The BFD offload port on the XDP program's pinned maps. */
export class XdpBfdOffload implements BfdOffloadPort {
  private readonly n: BfdOffloadNative;
  private readonly now: () => number;
  private readonly monoNs: () => bigint;
  private readonly maxCoverMs: number;
  private readonly sessionsMax: number;
  private readonly windowMax: number;
  /** Published rows by key, with their discriminator and encoded fields (renewals rewrite them). */
  private rows = new Map<string, { discr: number; fields: Record<string, unknown> }>();

  constructor(private readonly o: XdpBfdOffloadOptions) {
    this.n = o.native;
    this.now = o.now ?? (() => performance.now());
    this.monoNs = o.monoNs ?? (() => hrtime.bigint());
    this.maxCoverMs = o.maxCoverMs ?? 60_000;
    const layout = this.n.xdpLayout();
    this.sessionsMax = layout.bfdSessionsMax;
    this.windowMax = layout.bfdWindowMax;
  }

  publish(sessions: BfdOffloadSession[]): void {
    if (sessions.length > this.sessionsMax) throw new EdgelbError('EDGELB_ERR_BPF_MAP', `the BFD offload holds ${this.sessionsMax} sessions, ${sessions.length} given`);
    const discrs = new Set(sessions.map((s) => s.localDiscr));
    if (discrs.size !== sessions.length) throw new EdgelbError('EDGELB_ERR_INTERNAL', 'BFD offload: two sessions with one discriminator');
    // encode everything first: a row the addon refuses changes nothing
    const next = new Map<string, { discr: number; fields: Record<string, unknown>; frames: Buffer[] }>();
    sessions.forEach((s, slot) => {
      if (s.frames.length < 1 || s.frames.length > this.windowMax) throw new EdgelbError('EDGELB_ERR_BPF_MAP', `BFD offload: ${s.frames.length} frames for ${s.key} (1..${this.windowMax})`);
      const frames = s.frames.map((data) => this.n.xdpEncode('bfdFrame', { data }));
      const meticulous = s.auth?.meticulous ?? false;
      const fields: Record<string, unknown> = {
        key: s.key,
        local: s.local,
        peer: s.peer,
        remoteDiscr: s.remoteDiscr,
        firstSeq: s.firstSeq,
        // before the first renewal: the offload starts at frame 0
        lastSeq: meticulous ? (s.firstSeq - 1) >>> 0 : s.firstSeq,
        frames: s.frames.length,
        slot,
        srcPort: s.srcPort,
        dstPort: s.dstPort,
        multihop: s.multihop,
        meticulous,
        authType: s.auth?.type ?? 0,
        keyId: s.auth?.keyId ?? 0,
        desiredMinTxUs: s.desiredMinTxUs,
        requiredMinRxUs: s.requiredMinRxUs,
        remoteDesiredMinTxUs: s.remoteDesiredMinTxUs,
        remoteMinRxUs: s.remoteMinRxUs,
        detectMult: s.detectMult,
        remoteDetectMult: s.remoteDetectMult,
      };
      const prev = this.rows.get(s.key);
      // a republished row keeps the last number on the wire the daemon reported
      if (prev && prev.discr === s.localDiscr && meticulous) fields.lastSeq = prev.fields.lastSeq;
      this.n.xdpEncode('bfdSess', fields);
      next.set(s.key, { discr: s.localDiscr, fields, frames });
    });
    for (const { discr } of this.readRows()) if (!discrs.has(discr)) this.n.mapDelete(this.o.fds.sessions, u32Key(discr));
    for (const r of next.values()) {
      const slot = r.fields.slot as number;
      r.frames.forEach((f, i) => this.n.mapUpdate(this.o.fds.frames, u32Key(slot * this.windowMax + i), f));
      this.n.mapUpdate(this.o.fds.sessions, u32Key(r.discr), this.n.xdpEncode('bfdSess', r.fields));
    }
    this.rows = new Map([...next].map(([k, r]) => [k, { discr: r.discr, fields: r.fields }]));
  }

  renewLease(untilMs: number, lastSeq: Readonly<Record<string, number>>): void {
    // the numbers first, then the lease: XDP never starts from a stale number
    for (const [key, seq] of Object.entries(lastSeq)) {
      const r = this.rows.get(key);
      if (!r || !r.fields.meticulous) continue;
      r.fields.lastSeq = seq >>> 0;
      this.n.mapUpdate(this.o.fds.sessions, u32Key(r.discr), this.n.xdpEncode('bfdSess', r.fields));
    }
    const mono = this.monoNs();
    const untilNs = mono + BigInt(Math.max(0, Math.round((untilMs - this.now()) * 1000))) * 1000n;
    const maxNs = untilNs + BigInt(this.maxCoverMs) * BIG_MS;
    this.n.mapUpdate(this.o.fds.lease, u32Key(0), this.n.xdpEncode('bfdLease', { untilNs, maxNs }));
  }

  read(): { sessions: BfdOffloadSession[]; progress: BfdOffloadProgress[] } {
    const sessions: BfdOffloadSession[] = [];
    const progress: BfdOffloadProgress[] = [];
    for (const { discr, row } of this.readRows()) {
      const frames: Buffer[] = [];
      for (let i = 0; i < (row.frames as number); i++) {
        const v = this.n.mapLookup(this.o.fds.frames, u32Key((row.slot as number) * this.windowMax + i));
        if (v) frames.push(this.n.xdpDecode('bfdFrame', v).data as Buffer);
      }
      const local = row.local as string;
      const meticulous = row.meticulous as boolean;
      const authType = row.authType as number;
      const s: BfdOffloadSession = {
        key: row.key as string,
        family: local.includes(':') ? 6 : 4,
        local,
        srcPort: row.srcPort as number,
        peer: row.peer as string,
        dstPort: row.dstPort as number,
        multihop: row.multihop as boolean,
        localDiscr: discr,
        remoteDiscr: row.remoteDiscr as number,
        detectMult: row.detectMult as number,
        desiredMinTxUs: row.desiredMinTxUs as number,
        requiredMinRxUs: row.requiredMinRxUs as number,
        remoteDesiredMinTxUs: row.remoteDesiredMinTxUs as number,
        remoteMinRxUs: row.remoteMinRxUs as number,
        remoteDetectMult: row.remoteDetectMult as number,
        ...(authType ? { auth: { type: authType, keyId: row.keyId as number, meticulous } } : {}),
        firstSeq: row.firstSeq as number,
        frames,
      };
      sessions.push(s);
      progress.push({ key: s.key, ...progressOf(row) });
    }
    return { sessions, progress };
  }

  /** The lease as written (tests, diagnostics): monotonic ns. */
  lease(): { untilNs: bigint; maxNs: bigint } | undefined {
    const v = this.n.mapLookup(this.o.fds.lease, u32Key(0));
    return v ? (this.n.xdpDecode('bfdLease', v) as { untilNs: bigint; maxNs: bigint }) : undefined;
  }

  /** Drop every session and the lease (an orderly stop without offload, or BFD turned off). */
  clear(): void {
    this.publish([]);
    this.n.mapUpdate(this.o.fds.lease, u32Key(0), this.n.xdpEncode('bfdLease', { untilNs: 0n, maxNs: 0n }));
  }

  private readRows(): Array<{ discr: number; row: Record<string, unknown> }> {
    const out: Array<{ discr: number; row: Record<string, unknown> }> = [];
    for (let k = this.n.mapGetNextKey(this.o.fds.sessions, null); k; k = this.n.mapGetNextKey(this.o.fds.sessions, k)) {
      const v = this.n.mapLookup(this.o.fds.sessions, k);
      if (v) out.push({ discr: readU32(k), row: this.n.xdpDecode('bfdSess', v) });
    }
    return out;
  }
}

/**
 * What went on the wire from a row: XDP counts `sent` from the daemon's last renewal (it may count
 * past the window, answering nothing then); a meticulous session's last number is the renewal's
 * plus the frames really sent.
 */
export function progressOf(row: Record<string, unknown>): { sent: number; lastSeq: number } {
  const sentRaw = row.sent as number;
  const lastSeq = row.lastSeq as number;
  if (!row.meticulous) return { sent: sentRaw, lastSeq };
  const left = Math.max(0, (row.frames as number) - ((lastSeq + 1 - (row.firstSeq as number)) >>> 0));
  const sent = Math.min(sentRaw, left);
  return { sent, lastSeq: (lastSeq + sent) >>> 0 };
}
