// The UDP side of BFD (RFC 5881 single hop, RFC 5883 multihop) over node:dgram: one sending
// socket per session, bound to its own source port in 49152-65535 and sending with TTL / hop
// limit 255; receiving sockets on 3784 and 4784 come in as descriptors the main thread opened with
// the addon's udpSocket (a socket filter drops single-hop packets with a TTL below 255), or are
// bound here without that filter when the addon is missing (then the TTL cannot be checked).
import { createSocket, type Socket } from 'node:dgram';
import { familyOf } from '../lib/addr.js';
import type { BfdSender, BfdTransport } from './engine.js';
import { BFD_PORT_MULTI_HOP, BFD_PORT_SINGLE_HOP, BFD_SRC_PORT_MAX, BFD_SRC_PORT_MIN } from './packet.js';
import type { BfdSessionConfig } from './session.js';

/** A receiving socket: family, which port (single hop or multihop), and the fd if the addon made it. */
export interface BfdRxSpec {
  family: 4 | 6;
  multihop: boolean;
  fd?: number;
  /** Bind address when no fd (default any). */
  address?: string;
  /** Port when no fd (default 3784 / 4784; tests use others). */
  port?: number;
}

/** node:dgram senders: the next free source port from a rotating cursor. */
export class DgramTransport implements BfdTransport {
  private cursor: number;

  constructor(
    private readonly onError: (msg: string) => void,
    /** Destination ports (tests move them off the well-known ones). */
    private readonly ports = { single: BFD_PORT_SINGLE_HOP, multi: BFD_PORT_MULTI_HOP },
  ) {
    this.cursor = BFD_SRC_PORT_MIN + Math.floor(Math.random() * 1000);
  }

  openSender(cfg: BfdSessionConfig, opts?: { srcPort?: number }): BfdSender {
    const family = familyOf(cfg.peer) === 6 ? 6 : 4;
    const dst = cfg.multihop ? this.ports.multi : this.ports.single;
    let sock: Socket | undefined;
    let closed = false;
    let attempts = 0;
    let bound: number | undefined;
    // a resumed session's own port first (RFC 5881 section 4: one source port per session), the
    // cursor's next one if it is taken or out of range
    let wanted = opts?.srcPort !== undefined && opts.srcPort >= BFD_SRC_PORT_MIN && opts.srcPort <= BFD_SRC_PORT_MAX ? opts.srcPort : undefined;
    const open = () => {
      const port = wanted ?? this.nextPort();
      wanted = undefined;
      const s = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      sock = s;
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (closed || sock !== s) return;
        s.close();
        sock = undefined;
        // a taken source port: try the next one (bounded), else report and keep trying on sends
        if (e.code === 'EADDRINUSE' && attempts++ < 64) open();
        else this.onError(`bfd ${cfg.peer}: ${e.message}`);
      });
      s.bind({ port, ...(cfg.local ? { address: cfg.local } : {}), exclusive: true }, () => {
        attempts = 0;
        bound = port;
        try {
          s.setTTL(255); // RFC 5881 section 5 (and GTSM-like for multihop, RFC 5883 leaves it open)
        } catch (e) {
          this.onError(`bfd ${cfg.peer}: TTL 255: ${(e as Error).message}`);
        }
      });
    };
    open();
    return {
      get srcPort() {
        return bound;
      },
      send: (buf) => {
        if (closed) return;
        if (!sock) open();
        sock?.send(buf, dst, cfg.peer);
      },
      close: () => {
        closed = true;
        try {
          sock?.close();
        } catch {
          /* already closed */
        }
      },
    };
  }

  private nextPort(): number {
    const p = this.cursor;
    this.cursor = this.cursor >= BFD_SRC_PORT_MAX ? BFD_SRC_PORT_MIN : this.cursor + 1;
    return p;
  }
}

/** Open a receiving socket (from the addon's fd, or bound here) and deliver each datagram. */
export function openReceiver(spec: BfdRxSpec, onMessage: (msg: Buffer, address: string, port: number) => void, onError: (msg: string) => void): Promise<Socket> {
  const s = createSocket({ type: spec.family === 6 ? 'udp6' : 'udp4', ipv6Only: spec.family === 6 });
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.on('message', (msg, r) => onMessage(msg, r.address.replace(/%.*$/, ''), r.port));
    const done = () => {
      s.off('error', reject);
      s.on('error', (e) => onError(`bfd receive socket: ${e.message}`));
      resolve(s);
    };
    if (spec.fd !== undefined) s.bind({ fd: spec.fd }, done);
    else s.bind({ port: spec.port ?? (spec.multihop ? BFD_PORT_MULTI_HOP : BFD_PORT_SINGLE_HOP), address: spec.address ?? (spec.family === 6 ? '::' : '0.0.0.0') }, done);
  });
}
