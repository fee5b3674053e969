// The sync thread over real UDP on loopback, against a real XDP data path (BPF_PROG_TEST_RUN),
// with this test as its peer: junk, wrong key, oversize, truncated, unknown sender, stale echo and
// replayed datagrams are dropped and counted; a hello makes it send every flow it carries (bulk);
// a fresh delta is applied to its conntrack, one for a VIP not served here is counted and not; a
// flow that becomes established here reaches the peer in a delta; the member set changes live (a
// member that left is no target and becomes an unknown sender). Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { B3, ctEntry, useXdpPacketDataplane } from './dataplane/packets.js';
import { waitFor } from '../../src/lib/backoff.js';
import { loadNative } from '../../src/native/index.js';
import { handshake, ONEARM, useSyncThread } from './sync-fixture.js';
import { decodeSync, encodeSync, SYNC_MAX_PACKET, SYNC_RECORD_LEN, type SyncPacket } from '../../src/sync/codec.js';
import { addr16, syncNativeOf } from '../../src/sync/native.js';

const KEY = Buffer.from('sync-worker-test-key-0123456789ab');
const PORT = 30000 + (process.pid % 2000) * 3;
const PEER_BOOT = 0xb0bn;

describe('connection sync thread over UDP (loopback, real data path)', () => {
  useXdpPacketDataplane({ sync: true });
  const f = useSyncThread({ key: KEY, port: PORT, refreshMs: 600_000, helloMs: 200 });
  const got = f.got;
  let seq = 0n;
  let workerBoot = 0n;
  let stranger: Socket;
  before(async () => {
    stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(PORT, '127.0.0.3', r));
  });
  after(() => stranger?.close());

  const send = (b: Buffer, from: Socket = f.peer) => new Promise<void>((r) => from.send(b, PORT, '127.0.0.1', () => r()));
  const pkt = (p: Partial<SyncPacket>) => encodeSync({ kind: 'hello', boot: PEER_BOOT, seq: ++seq, echoBoot: workerBoot, name: 'edge-b', records: Buffer.alloc(0), ...p }, KEY);
  const dropped = () => f.sync.view().dropped;

  test('it says hello with its boot id, and knows no peer yet', async () => {
    const h = await waitFor(() => got.find((p) => p.kind === 'hello'), { timeoutMs: 5000 });
    assert.equal(h.echoBoot, 0n);
    assert.equal(h.name, 'edge-a');
    workerBoot = h.boot;
    assert.equal(f.sync.view().peersKnown, 0);
  });

  test('junk, a wrong key, oversize, truncated, a stranger and a stale echo are dropped and counted', async () => {
    await send(Buffer.from('not a sync packet at all, but long enough to pass the first check......'));
    await send(encodeSync({ kind: 'hello', boot: PEER_BOOT, seq: 1n, echoBoot: workerBoot, name: 'edge-b', records: Buffer.alloc(0) }, Buffer.from('some other key of the same length!')));
    await send(Buffer.alloc(SYNC_MAX_PACKET + 1));
    await send(pkt({ kind: 'delta', records: Buffer.alloc(3 * SYNC_RECORD_LEN) }).subarray(0, 200));
    await send(pkt({}), stranger);
    await send(pkt({ kind: 'delta', echoBoot: 0x1234n, records: Buffer.alloc(SYNC_RECORD_LEN) }));
    await waitFor(() => {
      const d = dropped();
      return d.malformed === 1 && d.unauthenticated === 1 && d.oversize === 1 && d.truncated === 1 && d['unknown-sender'] === 1 && d.stale === 1 ? d : undefined;
    }, { timeoutMs: 5000 });
    assert.equal(f.sync.view().received, 0);
  });

  test('a hello from the peer: it learns our boot and sends us every flow it carries (bulk)', async () => {
    const port = handshake('10.1.0.41', 48001);
    got.length = 0;
    await send(pkt({}));
    const bulk = await waitFor(() => got.find((p) => p.kind === 'bulk'), { timeoutMs: 5000 });
    assert.equal(bulk.echoBoot, PEER_BOOT);
    const sn = syncNativeOf(loadNative());
    const recs = Array.from({ length: bulk.records.length / SYNC_RECORD_LEN }, (_, i) => sn.syncRecordDecode(Buffer.from(bulk.records.subarray(i * SYNC_RECORD_LEN, (i + 1) * SYNC_RECORD_LEN))));
    assert.ok(recs.some((r) => r && r.cport === 48001 && r.xport === port), 'the established flow is in the bulk');
    await waitFor(() => (f.sync.view().peersKnown === 1 ? true : undefined), { timeoutMs: 5000 });
  });

  test('a fresh delta is applied; the same datagram again is a replay', async () => {
    const sn = syncNativeOf(loadNative());
    const rec = sn.syncRecordEncode({ family: 4, proto: 6, mode: 1, state: 0, ageMs: 20, timeoutSec: 300, client: addr16('10.1.0.99'), cport: 48100, vip: addr16(ONEARM), vport: 80, backend: addr16(B3), bport: 8080, xsrc: addr16('10.0.0.32'), xport: 61234, fwdFlags: 0x06 });
    const d = pkt({ kind: 'delta', records: rec });
    await send(d);
    await waitFor(() => (f.sync.view().applied === 1 ? true : undefined), { timeoutMs: 5000 });
    const e = ctEntry({ src: '10.1.0.99', dst: ONEARM, sport: 48100, dport: 80, protocol: 'tcp' });
    assert.equal(e?.synced, true);
    await send(d);
    await waitFor(() => (dropped().replayed === 1 ? true : undefined), { timeoutMs: 5000 });
    assert.equal(f.sync.view().applied, 1);
  });

  test('a flow established here reaches the peer in a delta', async () => {
    got.length = 0;
    const port = handshake('10.1.0.42', 48002);
    const sn = syncNativeOf(loadNative());
    const delta = await waitFor(
      () =>
        got.find((p) => {
          if (p.kind !== 'delta') return false;
          for (let i = 0; i < p.records.length / SYNC_RECORD_LEN; i++) {
            const r = sn.syncRecordDecode(Buffer.from(p.records.subarray(i * SYNC_RECORD_LEN, (i + 1) * SYNC_RECORD_LEN)));
            if (r?.cport === 48002 && r.xport === port) return true;
          }
          return false;
        }),
      { timeoutMs: 5000 },
    );
    assert.equal(delta.echoBoot, PEER_BOOT);
    assert.ok(f.sync.view().sent >= 1);
  });

  test('a record for a VIP this node does not serve is counted (noService) and never applied', async () => {
    const sn = syncNativeOf(loadNative());
    const before = f.sync.view();
    const rec = sn.syncRecordEncode({ family: 4, proto: 6, mode: 1, state: 0, ageMs: 20, timeoutSec: 300, client: addr16('10.1.0.98'), cport: 48200, vip: addr16('192.168.99.9'), vport: 80, backend: addr16(B3), bport: 8080, xsrc: addr16('10.0.0.32'), xport: 61235, fwdFlags: 0x06 });
    await send(pkt({ kind: 'delta', records: rec }));
    await waitFor(() => ((f.sync.view().skipped.noService ?? 0) > (before.skipped.noService ?? 0) ? true : undefined), { timeoutMs: 5000 });
    assert.equal(f.sync.view().applied, before.applied);
    assert.equal(f.sync.view().received, before.received + 1);
    assert.equal(ctEntry({ src: '10.1.0.98', dst: '192.168.99.9', sport: 48200, dport: 80, protocol: 'tcp' }), undefined);
  });

  test('members change live: a member that left is no target and its datagrams are unknown-sender; a new one is greeted', async () => {
    got.length = 0;
    const strangerGot: SyncPacket[] = [];
    stranger.on('message', (m) => {
      const d = decodeSync(m, KEY);
      if (d.ok) strangerGot.push(d.packet);
    });
    assert.equal(f.sync.setMembers(['127.0.0.1', '127.0.0.3:11112']), true);
    assert.equal(f.sync.setMembers(['127.0.0.3', '127.0.0.1']), false, 'the same set again changes nothing');
    assert.deepEqual(f.sync.view().peerAddresses, [`127.0.0.3:${PORT}`]);
    await waitFor(() => strangerGot.find((p) => p.kind === 'hello'), { timeoutMs: 5000 });
    const unknown = dropped()['unknown-sender'] ?? 0;
    await send(pkt({}));
    await waitFor(() => ((dropped()['unknown-sender'] ?? 0) === unknown + 1 ? true : undefined), { timeoutMs: 5000 });
    // the flow established now goes to the new member only, once it is known
    await send(encodeSync({ kind: 'hello', boot: 0xc0c0n, seq: 1n, echoBoot: workerBoot, name: 'edge-c', records: Buffer.alloc(0) }, KEY), stranger);
    await waitFor(() => (f.sync.view().peersKnown === 1 ? true : undefined), { timeoutMs: 5000 });
    got.length = 0;
    handshake('10.1.0.43', 48003);
    await waitFor(() => strangerGot.find((p) => p.kind === 'delta' && p.echoBoot === 0xc0c0n), { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(got.map((p) => p.kind), [], 'the member that left gets nothing, not even hellos');
  });
});
