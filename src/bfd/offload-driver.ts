// Drives the BFD offload port (offload.ts) from the engine, on the BFD worker thread: every packet
// the engine sends renews the lease first (with its sequence number), each Up session is published
// with a window of frames signed ahead (on Up, on any change of what the frames say, and before
// half a meticulous window is used by the engine's own packets), and a starting engine resumes the
// sessions the table holds. docs/bfd.md "Surviving a daemon restart" gives the design.
import type { BfdEngine, BfdSender, BfdTransport } from './engine.js';
import { offloadSession, resumeOf, type BfdOffloadPort, type BfdOffloadSession, type BfdResume } from './offload.js';
import { BFD_PORT_MULTI_HOP, BFD_PORT_SINGLE_HOP } from './packet.js';
import type { BfdSessionConfig } from './session.js';

export interface BfdOffloadDriverOptions {
  port: BfdOffloadPort;
  now: () => number;
  /** Frames signed ahead per meticulous session (the offload's maximum at most). */
  window: number;
  /** Destination ports (tests; default 3784 / 4784). */
  ports?: { single: number; multi: number };
  /** Our source address towards a peer when the session has none configured (the kernel's route). */
  localFor?: (peer: string, multihop: boolean) => string | undefined;
  onError?: (message: string) => void;
}

/** The sequence number in a BFD control packet's keyed MD5 / SHA-1 auth section, if it has one. */
export function seqOf(buf: Buffer): number | undefined {
  // A bit, and an auth type with a sequence number (2..5: keyed / meticulous MD5 / SHA-1)
  if (buf.length < 32 || !(buf[1]! & 0x04) || buf[24]! < 2 || buf[24]! > 5) return undefined;
  return buf.readUInt32BE(28);
}

/** What a published row's frames depend on: a change means publish again. */
function signature(r: BfdOffloadSession): string {
  return [r.local, r.srcPort, r.peer, r.dstPort, r.localDiscr, r.remoteDiscr, r.detectMult, r.desiredMinTxUs, r.requiredMinRxUs, r.remoteDesiredMinTxUs, r.remoteMinRxUs, r.remoteDetectMult, r.auth?.type ?? 0, r.auth?.keyId ?? 0].join('|');
}

export class BfdOffloadDriver {
  private engine: BfdEngine | undefined;
  /** Per session key: the last sequence number on the wire. */
  private readonly lastSeq = new Map<string, number>();
  /** Per session key: what was published (its signature, first number and window). */
  private readonly published = new Map<string, { sig: string; firstSeq: number; count: number; meticulous: boolean; intervalMs: number }>();
  private leaseUntil = 0;
  private pendingResume: Map<string, BfdResume> | undefined;

  constructor(private readonly o: BfdOffloadDriverOptions) {}

  /** Read the table a previous daemon left (call once, before the first sessions). */
  readResume(): Map<string, BfdResume> {
    const out = new Map<string, BfdResume>();
    try {
      const prev = this.o.port.read();
      for (const row of prev.sessions) out.set(row.key, resumeOf(row, prev.progress.find((p) => p.key === row.key)));
    } catch (e) {
      this.o.onError?.(`bfd offload: reading the table: ${(e as Error).message}`);
    }
    this.pendingResume = out;
    return out;
  }

  /** The resume entries for the first sessions set, then none (a session re-added later starts Down). */
  takeResume(list: readonly BfdSessionConfig[]): Map<string, BfdResume> {
    const r = this.pendingResume ?? new Map<string, BfdResume>();
    this.pendingResume = undefined;
    const keys = new Set(list.map((c) => c.key));
    return new Map([...r].filter(([k]) => keys.has(k)));
  }

  attach(engine: BfdEngine): void {
    this.engine = engine;
  }

  /** A transport whose senders renew the lease (the number first) before each packet. */
  wrap(inner: BfdTransport): BfdTransport {
    return {
      openSender: (cfg, opts): BfdSender => {
        const s = inner.openSender(cfg, opts);
        return {
          send: (buf: Buffer) => {
            const seq = seqOf(buf);
            if (seq !== undefined) this.lastSeq.set(cfg.key, seq);
            this.renew(cfg.key);
            s.send(buf);
          },
          close: () => s.close(),
          get srcPort() {
            return s.srcPort;
          },
        };
      },
    };
  }

  /** Publish what changed (call on every state change and periodically). */
  tick(): void {
    const e = this.engine;
    if (!e) return;
    const rows: BfdOffloadSession[] = [];
    let changed = false;
    for (const v of e.views()) {
      const s = e.session(v.key);
      const srcPort = e.sender(v.key)?.srcPort;
      if (!s || !srcPort) continue;
      const local = s.cfg.local ?? this.o.localFor?.(s.cfg.peer, s.cfg.multihop);
      const ports = this.o.ports ?? { single: BFD_PORT_SINGLE_HOP, multi: BFD_PORT_MULTI_HOP };
      const row = offloadSession(s, { ...(local ? { local } : {}), srcPort, dstPort: s.cfg.multihop ? ports.multi : ports.single, window: this.o.window });
      if (!row) continue;
      const p = this.published.get(row.key);
      const sig = signature(row);
      const meticulous = row.auth?.meticulous ?? false;
      // the engine's own packets use the window's numbers: renew before half of it is gone
      const used = p ? (s.xmitAuthSeq + 1 - p.firstSeq) >>> 0 : 0;
      if (!p || p.sig !== sig || (meticulous && used > p.count / 2)) changed = true;
      rows.push(row);
    }
    if (rows.length !== this.published.size) changed = true;
    if (!changed) return;
    try {
      this.o.port.publish(rows);
      this.published.clear();
      for (const r of rows) this.published.set(r.key, { sig: signature(r), firstSeq: r.firstSeq, count: r.frames.length, meticulous: r.auth?.meticulous ?? false, intervalMs: Math.max(r.desiredMinTxUs, r.remoteMinRxUs) / 1000 });
      this.renew();
    } catch (err) {
      this.o.onError?.(`bfd offload: publish: ${(err as Error).message}`);
    }
  }

  /** An orderly stop: nothing is answered for us any more. */
  clear(): void {
    try {
      this.o.port.publish([]);
      this.o.port.renewLease(0, {});
    } catch (e) {
      this.o.onError?.(`bfd offload: clear: ${(e as Error).message}`);
    }
    this.published.clear();
  }

  /** The lease runs 1.5 intervals of the fastest published session past this packet: the offload
   *  takes over within one interval of the daemon's death, before any router's detection time. */
  private renew(key?: string): void {
    const now = this.o.now();
    let ivMs = Infinity;
    for (const p of this.published.values()) ivMs = Math.min(ivMs, p.intervalMs);
    if (ivMs === Infinity) ivMs = key ? (this.engine?.session(key)?.txIntervalUs() ?? 0) / 1000 || 1000 : 1000;
    this.leaseUntil = now + 1.5 * ivMs;
    const seqs: Record<string, number> = {};
    for (const [k, n] of this.lastSeq) if (this.published.get(k)?.meticulous) seqs[k] = n;
    try {
      this.o.port.renewLease(this.leaseUntil, key ? (key in seqs ? { [key]: seqs[key]! } : {}) : seqs);
    } catch (e) {
      this.o.onError?.(`bfd offload: lease: ${(e as Error).message}`);
    }
  }
}
