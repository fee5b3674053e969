// The sync thread under test with this test as its peer, for the sync-worker and sync-event tests:
// a UDP socket on 127.0.0.2 that decodes what the thread sends (into `got`), the ConnSync of
// "edge-a" on 127.0.0.1 against the XDP packet data path of ./dataplane/packets.ts, and an onearm
// TCP handshake through that data path (SYN, the backend's SYN-ACK, the client's ACK).
import { after, before } from 'node:test';
import { createSocket, type Socket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { frame, parse, TCP_ACK, TCP_SYN } from './dataplane/pkt.js';
import { B3, dp, fromBackend, NODE4, run } from './dataplane/packets.js';
import { silentLogger } from '../../src/lib/logger.js';
import { ConnSync } from '../../src/sync/conn-sync.js';
import { decodeSync, type SyncPacket } from '../../src/sync/codec.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const ONEARM = '192.168.80.2';

export interface SyncFixture {
  readonly sync: ConnSync;
  readonly peer: Socket;
  /** every packet the thread sent to the peer that decoded with the key */
  readonly got: SyncPacket[];
}

/** Before the suite: the peer socket and the started thread; after: both stopped. */
export function useSyncThread(o: { key: Buffer; port: number; refreshMs: number; helloMs: number; tickMs?: number }): SyncFixture {
  const f = { got: [] as SyncPacket[] } as { sync: ConnSync; peer: Socket; got: SyncPacket[] };
  before(async () => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/ct_sync.bpf.o'], { stdio: 'ignore' });
    f.peer = createSocket('udp4');
    await new Promise<void>((r) => f.peer.bind(o.port, '127.0.0.2', r));
    f.peer.on('message', (m) => {
      const d = decodeSync(m, o.key);
      if (d.ok) f.got.push(d.packet);
    });
    f.sync = new ConnSync({
      self: 'edge-a',
      listen: `127.0.0.1:${o.port + 1}`,
      members: ['127.0.0.1', '127.0.0.2'],
      port: o.port,
      key: o.key,
      pinDir: dp.pinDir,
      clockObject: join(ROOT, 'build/bpf/ct_sync.bpf.o'),
      refreshMs: o.refreshMs,
      queueLimit: 1000,
      ...(o.tickMs !== undefined ? { tickMs: o.tickMs } : {}),
      helloMs: o.helloMs,
      logger: silentLogger(),
      registry: new Registry(),
    });
    await f.sync.start();
  });
  after(async () => {
    await f.sync?.stop();
    f.peer?.close();
  });
  return f;
}

/** An onearm TCP handshake from client:sport through the data path; returns the SNAT port. */
export function handshake(client: string, sport: number): number {
  const s = run(frame({ src: client, dst: ONEARM, proto: 'tcp', sport, dport: 80, tcpFlags: TCP_SYN }));
  const port = parse(s.out).sport;
  run(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_SYN | TCP_ACK }, B3));
  run(frame({ src: client, dst: ONEARM, proto: 'tcp', sport, dport: 80, tcpFlags: TCP_ACK }));
  return port;
}
