// BGP sockets that need options Node cannot set (TCP MD5 RFC 2385, TTL / GTSM RFC 5082): the
// interface the session and speaker use, and its adapter over the native addon, which creates the
// socket, sets the options, binds and connects (or listens), and hands the descriptor to node:net.
import net from 'node:net';
import { familyOf } from '../lib/addr.js';
import type { NativeBinding } from '../native/index.js';

export interface BgpConnectOptions {
  address: string;
  port: number;
  localAddress?: string;
  /** TCP MD5 key (never logged). */
  password?: string;
  /** IP TTL / hop limit of sent packets. */
  ttl?: number;
  /** GTSM: drop packets that arrive with a lower TTL. */
  minTtl?: number;
  timeoutMs: number;
}

export interface BgpListenPeerKey {
  address: string;
  password: string;
}

/** TTL rules for one accepted connection: GTSM (RFC 5082) or a multihop TTL. */
export interface AcceptedTtl {
  /** TTL / hop limit of what we send on it. */
  ttl: number;
  /** Refuse the connection unless its SYN arrived with at least this TTL, and drop later segments below it. */
  minTtl?: number;
}

export interface BgpListener {
  server: net.Server;
  /** Replace the per-peer MD5 keys of the listening socket. */
  setKeys(keys: BgpListenPeerKey[]): void;
  /**
   * Apply a peer's TTL rules to an accepted connection before anything is read from it: the SYN's
   * TTL is checked against minTtl (the OPEN may already be queued, so IP_MINTTL alone is too late),
   * then IP_MINTTL and the outgoing TTL are set. Returns why the connection must be refused, or null.
   */
  secureAccepted(socket: net.Socket, o: AcceptedTtl): string | null;
}

export interface BgpSocketFactory {
  /** Resolves with a connected socket; rejects with the connect error. */
  connect(o: BgpConnectOptions): Promise<net.Socket>;
  /** A listening server with an MD5 key per peer. */
  listen(o: { port: number; host: string; keys: BgpListenPeerKey[] }): Promise<BgpListener>;
}

/** The part of the native binding BGP uses. */
export type BgpNative = Pick<NativeBinding, 'tcpSocket' | 'tcpSetMd5' | 'tcpConnect' | 'tcpConnectWait' | 'tcpListen' | 'closeFd' | 'tcpSetTtl' | 'tcpSetMinTtl' | 'tcpSavedSynTtl'>;

/** Adapt the native binding: descriptors become node:net sockets and servers. */
export function nativeSocketFactory(n: BgpNative): BgpSocketFactory {
  return {
    async connect(o) {
      const family = familyOf(o.address) === 6 ? 6 : 4;
      const fd = n.tcpSocket({
        family,
        ...(o.ttl !== undefined ? { ttl: o.ttl } : {}),
        ...(o.minTtl !== undefined ? { minTtl: o.minTtl } : {}),
        ...(o.password ? { md5: [{ address: o.address, key: o.password }] } : {}),
        ...(o.localAddress ? { bindAddress: o.localAddress, bindPort: 0 } : {}),
      });
      try {
        if (!n.tcpConnect(fd, o.address, o.port)) await n.tcpConnectWait(fd, o.timeoutMs);
      } catch (e) {
        n.closeFd(fd);
        throw e;
      }
      return new net.Socket({ fd, readable: true, writable: true });
    },
    async listen(o) {
      const family = familyOf(o.host) === 4 ? 4 : 6;
      const fd = n.tcpSocket({
        family,
        reuseAddr: true,
        ...(family === 6 ? { v6Only: false } : {}),
        bindAddress: o.host,
        bindPort: o.port,
        saveSyn: true,
        // SYN-ACKs go out at 255 so a GTSM peer (which drops anything lower) can connect to us;
        // accepted sockets inherit it (a TTL is a hop budget: 255 is safe for every peer)
        ttl: 255,
        md5: o.keys.map((k) => ({ address: k.address, key: k.password })),
      });
      try {
        n.tcpListen(fd, 64);
      } catch (e) {
        n.closeFd(fd);
        throw e;
      }
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen({ fd }, resolve));
      let current = new Map(o.keys.map((k) => [k.address, k.password]));
      return {
        server,
        setKeys(keys) {
          // every key is tried: one the kernel refuses does not keep the others from changing
          const next = new Map(keys.map((k) => [k.address, k.password]));
          const failed: string[] = [];
          const set = (a: string, p: string | null) => {
            try {
              n.tcpSetMd5(fd, a, p);
            } catch (e) {
              failed.push(`${a}: ${(e as Error).message}`);
              next.delete(a);
            }
          };
          for (const a of current.keys()) if (!next.has(a)) set(a, null);
          for (const [a, p] of [...next]) if (current.get(a) !== p) set(a, p);
          current = next;
          if (failed.length > 0) throw new Error(`MD5 keys not set on the listener: ${failed.join('; ')}`);
        },
        secureAccepted(socket, t) {
          const afd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
          if (afd === undefined || afd < 0) return 'no descriptor for the accepted connection';
          try {
            if (t.minTtl !== undefined) {
              const synTtl = n.tcpSavedSynTtl(afd);
              if (synTtl === null) return 'the SYN was not saved: its TTL cannot be checked';
              if (synTtl < t.minTtl) return `SYN arrived with TTL ${synTtl}, GTSM needs at least ${t.minTtl}`;
              n.tcpSetMinTtl(afd, t.minTtl);
            }
            n.tcpSetTtl(afd, t.ttl);
          } catch (e) {
            return `TTL options: ${(e as Error).message}`;
          }
          return null;
        },
      };
    },
  };
}
