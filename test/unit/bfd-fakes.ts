// Test doubles for the BFD engine: a fake clock that fires timers in order as time advances, and
// an offload that behaves as the XDP program does (answers a router packet with the next frame
// signed ahead, only while the daemon's lease has expired). Shared by the bfd-* unit tests.
import type { BfdClock } from '../../src/bfd/engine.js';
import { nextFrame, type BfdOffloadPort, type BfdOffloadProgress, type BfdOffloadSession } from '../../src/bfd/offload.js';
import { decodeControl } from '../../src/bfd/packet.js';

export class FakeClock implements BfdClock {
  t = 1000;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): number {
    return this.t;
  }
  at(at: number, fn: () => void): () => void {
    const e = { at, fn, live: true };
    this.timers.push(e);
    return () => void (e.live = false);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((x) => x.live);
      const next = this.timers.reduce<(typeof this.timers)[number] | undefined>((m, x) => (!m || x.at < m.at ? x : m), undefined);
      if (!next || next.at > end) break;
      this.t = Math.max(this.t, next.at);
      next.live = false;
      next.fn();
    }
    this.t = end;
  }
}

/** The offload as the XDP program behaves: a table, a lease, and an answer per router packet. */
export class FakeXdpOffload implements BfdOffloadPort {
  rows = new Map<string, BfdOffloadSession>();
  progress = new Map<string, BfdOffloadProgress>();
  leaseUntil = 0;
  constructor(private readonly clock: FakeClock) {}
  publish(sessions: BfdOffloadSession[]): void {
    this.rows = new Map(sessions.map((s) => [s.key, s]));
  }
  renewLease(untilMs: number, lastSeq: Readonly<Record<string, number>>): void {
    this.leaseUntil = untilMs;
    for (const [key, seq] of Object.entries(lastSeq)) this.progress.set(key, { key, sent: this.progress.get(key)?.sent ?? 0, lastSeq: seq });
  }
  read() {
    return { sessions: [...this.rows.values()], progress: [...this.progress.values()] };
  }
  /** A router packet reached our address: answer it (or not). Returns the answer. */
  onPacket(raw: Buffer, from: string): Buffer | undefined {
    if (this.clock.now() < this.leaseUntil) return undefined; // the daemon answers
    const d = decodeControl(raw);
    if (!d.ok) return undefined;
    const row = [...this.rows.values()].find((r) => r.localDiscr === d.packet.yourDiscr && r.peer === from);
    if (!row) return undefined;
    const p = this.progress.get(row.key) ?? { key: row.key, sent: 0, lastSeq: (row.firstSeq - 1) >>> 0 };
    const next = nextFrame(row, p.lastSeq);
    if (!next) return undefined;
    this.progress.set(row.key, { key: row.key, sent: p.sent + 1, lastSeq: next.seq });
    return next.frame;
  }
}
