// One TCP connection of a BGP session (Conn), and the socket options for a native (MD5/TTL/GTSM) connect.
import type net from 'node:net';
import type { PeerSpec } from '../model/desired-state.js';
import { DEFAULT_CONTEXT, Framer, MAX_MESSAGE_LENGTH, type CodecContext, type OpenMessage } from './wire/index.js';
import type { AcceptedTtl, BgpConnectOptions } from './sockets.js';

/** One TCP connection of a session (a session has at most two, during a collision). */
export class Conn {
  readonly framer = new Framer(MAX_MESSAGE_LENGTH);
  ctx: CodecContext = { ...DEFAULT_CONTEXT };
  open?: OpenMessage; // the peer's OPEN on this connection
  connected = false;
  closed = false;
  constructor(
    readonly socket: net.Socket,
    readonly dir: 'in' | 'out',
  ) {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.removeAllListeners('data');
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }
}

/** Whether connecting to this peer needs the native addon (TCP MD5, GTSM or a multihop TTL). */
export function needsNativeSocket(p: PeerSpec): boolean {
  return !!p.password || !!p.gtsm || (p.ebgpMultihop !== undefined && p.ebgpMultihop > 1);
}

/** TTL rules of a peer for a connection it opens to us (null: none, plain TTL 64 is fine). */
export function acceptedTtl(p: PeerSpec, ibgp: boolean): AcceptedTtl | null {
  if (p.gtsm) return { ttl: 255, minTtl: 255 - Math.max(0, (p.ebgpMultihop ?? 1) - 1) };
  if (!ibgp && p.ebgpMultihop !== undefined && p.ebgpMultihop > 1) return { ttl: p.ebgpMultihop };
  return null;
}

/** Options for the addon's connect: MD5 / TTL / min TTL are set before connect(). */
export function nativeConnectOptions(p: PeerSpec, ibgp: boolean): BgpConnectOptions {
  return {
    address: p.address,
    port: p.port,
    ...(p.localAddress ? { localAddress: p.localAddress } : {}),
    ...(p.password ? { password: p.password } : {}),
    ttl: p.gtsm ? 255 : ibgp ? 64 : (p.ebgpMultihop ?? 1),
    ...(p.gtsm ? { minTtl: 255 - Math.max(0, (p.ebgpMultihop ?? 1) - 1) } : {}),
    timeoutMs: Math.min(30_000, Math.max(1000, p.connectRetry * 1000)),
  };
}
