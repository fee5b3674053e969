// BGP session transmit path: control messages by priority (NOTIFICATION > OPEN > KEEPALIVE), then
// UPDATEs built from the adj-RIB-out only when the socket drains (back-pressure), then End-of-RIB.
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { BgpState } from './fsm.js';
import { Afi, Safi, buildEndOfRib, encodeMessage, type BgpMessage } from './wire/index.js';
import type { AdjRibOut } from './adj-rib-out.js';
import type { Conn } from './session-conn.js';
import type { Negotiated } from './session-types.js';

const PRIORITY: Record<string, number> = { notification: 0, open: 1, keepalive: 2 };

/** What the transmitter reads from its session. */
export interface TxHost {
  /** The current connection. */
  conn(): Conn | null;
  state(): BgpState;
  negotiated(): Negotiated | null;
  readonly ribOut: AdjRibOut;
  readonly log: Logger;
  /** A message went out. */
  sent(kind: BgpMessage['type'] | 'eor'): void;
}

export class Transmitter {
  private control: Array<{ prio: number; buf: Buffer; kind: BgpMessage['type'] }> = [];
  private pumpScheduled = false;
  /** End-of-RIB may go out once the adj-RIB-out has drained. */
  eorAllowed = false;
  /** End-of-RIB went out on the current session. */
  eorSent = false;

  constructor(private readonly h: TxHost) {}

  /** Queue a control message by priority on the current connection. */
  enqueue(m: BgpMessage): void {
    const conn = this.h.conn();
    if (!conn) return;
    const buf = encodeMessage(m, conn.ctx);
    const prio = PRIORITY[m.type] ?? 3;
    let i = this.control.length;
    while (i > 0 && this.control[i - 1]!.prio > prio) i--;
    this.control.splice(i, 0, { prio, buf, kind: m.type });
    this.kick();
  }

  /** Write at once, ahead of anything queued (NOTIFICATION, OPEN on a candidate). */
  writeNow(c: Conn, m: BgpMessage): void {
    if (c.closed || c.socket.destroyed) return;
    try {
      c.socket.write(encodeMessage(m, c.ctx));
      if (c === this.h.conn() || m.type === 'notification') this.h.sent(m.type);
    } catch (e) {
      this.h.log.error({ err: errorMessage(e) }, 'could not encode message');
    }
  }

  /** Drop the queued control messages (the connection is gone). */
  clear(): void {
    this.control = [];
  }

  kick(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Send what the socket takes now: control messages by priority, then UPDATEs, then End-of-RIB. */
  private pump(): void {
    const c = this.h.conn();
    if (!c || c.closed || !c.connected) return;
    const s = c.socket;
    const ribOut = this.h.ribOut;
    while (!s.writableNeedDrain) {
      const ctl = this.control.shift();
      if (ctl) {
        s.write(ctl.buf);
        this.h.sent(ctl.kind);
        continue;
      }
      if (this.h.state() !== BgpState.Established) return;
      if (ribOut.pending > 0) {
        let bufs: Buffer[];
        try {
          bufs = ribOut.take(c.ctx);
        } catch (e) {
          this.h.log.error({ err: errorMessage(e) }, 'could not build UPDATE');
          return;
        }
        if (bufs.length === 0) continue;
        s.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
        for (let i = 0; i < bufs.length; i++) this.h.sent('update');
        continue;
      }
      const negotiated = this.h.negotiated();
      if (this.eorAllowed && !this.eorSent && negotiated) {
        this.eorSent = true;
        for (const f of negotiated.families) {
          s.write(buildEndOfRib(f === 'ipv4' ? Afi.IPV4 : Afi.IPV6, Safi.UNICAST));
          this.h.sent('eor');
        }
        this.h.log.info({ families: negotiated.families, prefixes: ribOut.sentCount }, 'End-of-RIB sent');
      }
      return;
    }
  }
}
