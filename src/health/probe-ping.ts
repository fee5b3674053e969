// ICMP echo probe through the native addon: one ICMP socket per family shared by every ping,
// replies matched by sequence number and a random token in the payload (raw sockets see every
// echo reply of the host; unprivileged ping sockets rewrite the identifier).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { IcmpSocketHandle, NativeBinding } from '../native/binding.js';
import { errorMessage } from '../lib/errors.js';
import { fail, ok, type ProbeOutcome, type ProbeRequest } from './types.js';

const ECHO_REQUEST = { 4: 8, 6: 128 } as const;
const ECHO_REPLY = { 4: 0, 6: 129 } as const;

interface Pending {
  token: Buffer;
  start: number;
  resolve: (o: ProbeOutcome) => void;
  timer: NodeJS.Timeout;
}

/** Builds an echo request: type, code, checksum (0: the addon or kernel fills it), id, seq, payload. */
export function echoRequest(family: 4 | 6, id: number, seq: number, token: Buffer): Buffer {
  const m = Buffer.alloc(8 + token.length);
  m[0] = ECHO_REQUEST[family];
  m.writeUInt16BE(id & 0xffff, 4);
  m.writeUInt16BE(seq & 0xffff, 6);
  token.copy(m, 8);
  return m;
}

/** Parses an echo reply; null for anything else. */
export function parseEchoReply(family: 4 | 6, msg: Buffer): { seq: number; payload: Buffer } | null {
  if (msg.length < 8 || msg[0] !== ECHO_REPLY[family] || msg[1] !== 0) return null;
  return { seq: msg.readUInt16BE(6), payload: msg.subarray(8) };
}

export class Pinger {
  private readonly sockets = new Map<4 | 6, IcmpSocketHandle>();
  private readonly pending = new Map<4 | 6, Map<number, Pending>>();
  private readonly id = randomBytes(2).readUInt16BE(0);
  private seq = randomBytes(2).readUInt16BE(0);

  constructor(private readonly native: () => NativeBinding) {}

  probe(req: ProbeRequest): Promise<ProbeOutcome> {
    const start = performance.now();
    const family: 4 | 6 = net.isIPv6(req.address) ? 6 : 4;
    let sock: IcmpSocketHandle;
    try {
      sock = this.socket(family);
    } catch (e) {
      return Promise.resolve(fail(start, 'unavailable', errorMessage(e)));
    }
    const table = this.table(family);
    let seq = (this.seq = (this.seq + 1) & 0xffff);
    for (let i = 0; table.has(seq) && i < 0x10000; i++) seq = this.seq = (this.seq + 1) & 0xffff;
    const token = randomBytes(16);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(family, seq, fail(start, 'timeout')), req.spec.timeoutMs);
      table.set(seq, { token, start, resolve, timer });
      if (table.size === 1) sock.start((msg) => this.onReply(family, msg));
      try {
        sock.send(req.address, echoRequest(family, this.id, seq, token));
      } catch (e) {
        const code = (e as { sysCode?: string }).sysCode;
        // ENOBUFS: an IPv6 echo to a neighbour whose resolution failed has nowhere to queue
        // (seen when the endpoint's link is down); like EHOSTUNREACH, the endpoint cannot be reached
        const unreachable = code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || code === 'EHOSTDOWN' || code === 'ENOBUFS';
        this.settle(family, seq, fail(start, unreachable ? 'unreachable' : 'error', errorMessage(e)));
      }
    });
  }

  /** Close the sockets; pending pings fail with 'unavailable'. */
  close(): void {
    for (const [family, table] of this.pending) {
      for (const seq of [...table.keys()]) this.settle(family, seq, fail(performance.now(), 'unavailable', 'pinger closed'));
    }
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private socket(family: 4 | 6): IcmpSocketHandle {
    let s = this.sockets.get(family);
    if (!s) {
      s = this.native().openIcmpSocket(family);
      this.sockets.set(family, s);
    }
    return s;
  }

  private table(family: 4 | 6): Map<number, Pending> {
    let t = this.pending.get(family);
    if (!t) {
      t = new Map();
      this.pending.set(family, t);
    }
    return t;
  }

  private onReply(family: 4 | 6, msg: Buffer): void {
    const r = parseEchoReply(family, msg);
    if (!r) return;
    const p = this.table(family).get(r.seq);
    if (!p || !r.payload.subarray(0, p.token.length).equals(p.token)) return; // someone else's ping
    this.settle(family, r.seq, ok(p.start));
  }

  private settle(family: 4 | 6, seq: number, outcome: ProbeOutcome): void {
    const table = this.table(family);
    const p = table.get(seq);
    if (!p) return;
    table.delete(seq);
    clearTimeout(p.timer);
    // no ping in flight: stop watching the socket so it does not hold the event loop
    if (table.size === 0) this.sockets.get(family)?.stop();
    p.resolve(outcome);
  }
}
