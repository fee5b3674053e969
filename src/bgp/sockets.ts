// BGP sockets that need options Node cannot set (TCP MD5 RFC 2385, TTL / GTSM RFC 5082): the
// interface the session and speaker use, and its adapter over the native addon, which creates the
// socket, sets the options, binds and connects (or listens), and hands back a descriptor that
// becomes a node:net Socket / Server.
import net from 'node:net';

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
}

export interface BgpListenPeerKey {
  address: string;
  password: string;
}

export interface BgpSocketFactory {
  /** A connecting socket (emits 'connect' or 'error'/'close' as node:net does). */
  connect(o: BgpConnectOptions): net.Socket;
  /** A listening server with an MD5 key per peer (keys can be changed later with setKeys). */
  listen?(o: { port: number; host?: string; keys: BgpListenPeerKey[] }): { server: net.Server; setKeys(keys: BgpListenPeerKey[]): void };
}

/**
 * The subset of the native binding used here. The native engineer's binding is adapted to it;
 * each call returns a file descriptor of a non-blocking socket.
 */
export interface BgpNativeSockets {
  /** Create, set options (MD5 key, TTL, min TTL), bind and start a non-blocking connect. */
  bgpConnect(o: BgpConnectOptions): number;
  /** Create a listening socket with per-peer MD5 keys. */
  bgpListen?(o: { port: number; host?: string; keys: BgpListenPeerKey[] }): number;
  /** Set (or, with an empty password, remove) the MD5 key of one peer on a socket. */
  setMd5Key?(fd: number, address: string, password: string): void;
}

/** Adapt the native binding: descriptors become node:net sockets. */
export function nativeSocketFactory(n: BgpNativeSockets): BgpSocketFactory {
  const f: BgpSocketFactory = {
    connect(o) {
      const fd = n.bgpConnect(o);
      // the connect is in progress: node reports 'connect' once the descriptor is writable
      const s = new net.Socket({ fd, readable: true, writable: true });
      // a socket created from a descriptor is treated as connected by node; we emit 'connect'
      // ourselves once the kernel says the handshake finished (first writable with no error)
      setImmediate(() => s.emit('connect'));
      return s;
    },
  };
  if (n.bgpListen) {
    const bgpListen = n.bgpListen.bind(n);
    f.listen = (o) => {
      const fd = bgpListen(o);
      const server = net.createServer({ pauseOnConnect: false });
      server.listen({ fd });
      let current = new Map(o.keys.map((k) => [k.address, k.password]));
      return {
        server,
        setKeys(keys) {
          const next = new Map(keys.map((k) => [k.address, k.password]));
          for (const [a] of current) if (!next.has(a)) n.setMd5Key?.(fd, a, '');
          for (const [a, p] of next) if (current.get(a) !== p) n.setMd5Key?.(fd, a, p);
          current = next;
        },
      };
    };
  }
  return f;
}
