// The sync thread acts on events, not on its tick: with a tick of an hour (it never comes during
// the test), a flow established here still reaches the peer in a delta (the ring buffer's fd is
// watched: the XDP side wakes it) and a peer's delta is applied on arrival. Before the send side
// was event-driven (issue 15: lag = the 10 ms tick) the first of these failed. Needs root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { B3, ctEntry, useXdpPacketDataplane } from './dataplane/packets.js';
import { waitFor } from '../../src/lib/backoff.js';
import { loadNative } from '../../src/native/index.js';
import { handshake, ONEARM, useSyncThread } from './sync-fixture.js';
import { encodeSync, SYNC_RECORD_LEN } from '../../src/sync/codec.js';
import { addr16, syncNativeOf } from '../../src/sync/native.js';

const KEY = Buffer.from('sync-event-test-key-0123456789abc');
const PORT = 40000 + (process.pid % 2000) * 3;
const PEER_BOOT = 0xe0en;
const HOUR = 3_600_000;

describe('connection sync thread without its tick (events only)', () => {
  useXdpPacketDataplane({ sync: true });
  const f = useSyncThread({ key: KEY, port: PORT, refreshMs: HOUR, helloMs: HOUR, tickMs: HOUR });
  const got = f.got;
  let seq = 0n;
  let workerBoot = 0n;

  const send = (b: Buffer) => new Promise<void>((r) => f.peer.send(b, PORT, '127.0.0.1', () => r()));

  test('the peer is known from its hello alone (no tick)', async () => {
    const h = await waitFor(() => got.find((p) => p.kind === 'hello'), { timeoutMs: 5000 });
    workerBoot = h.boot;
    await send(encodeSync({ kind: 'hello', boot: PEER_BOOT, seq: ++seq, echoBoot: workerBoot, name: 'edge-b', records: Buffer.alloc(0) }, KEY));
    await waitFor(() => (f.sync.view().peersKnown === 1 ? true : undefined), { timeoutMs: 5000 });
  });

  test('flows established here reach the peer without a tick, every one, none twice', async () => {
    got.length = 0;
    const want = new Map<number, number>();
    for (let i = 0; i < 3; i++) want.set(48500 + i, handshake(`10.1.0.${60 + i}`, 48500 + i));
    const sn = syncNativeOf(loadNative());
    const seen = () => {
      const n = new Map<number, number>();
      for (const p of got) {
        if (p.kind !== 'delta') continue;
        for (let i = 0; i < p.records.length / SYNC_RECORD_LEN; i++) {
          const r = sn.syncRecordDecode(Buffer.from(p.records.subarray(i * SYNC_RECORD_LEN, (i + 1) * SYNC_RECORD_LEN)));
          if (r && want.get(r.cport) === r.xport) n.set(r.cport, (n.get(r.cport) ?? 0) + 1);
        }
      }
      return n;
    };
    await waitFor(() => (seen().size === want.size ? true : undefined), { timeoutMs: 5000 });
    assert.ok([...seen().values()].every((c) => c === 1));
    assert.ok(got.every((p) => p.kind !== 'delta' || p.echoBoot === PEER_BOOT));
  });

  test("a peer's delta is applied on arrival (no tick)", async () => {
    const sn = syncNativeOf(loadNative());
    const rec = sn.syncRecordEncode({ family: 4, proto: 6, mode: 1, state: 0, ageMs: 20, timeoutSec: 300, client: addr16('10.1.0.97'), cport: 48600, vip: addr16(ONEARM), vport: 80, backend: addr16(B3), bport: 8080, xsrc: addr16('10.0.0.32'), xport: 61240, fwdFlags: 0x06 });
    await send(encodeSync({ kind: 'delta', boot: PEER_BOOT, seq: ++seq, echoBoot: workerBoot, name: 'edge-b', records: rec }, KEY));
    await waitFor(() => (f.sync.view().applied === 1 ? true : undefined), { timeoutMs: 5000 });
    assert.equal(ctEntry({ src: '10.1.0.97', dst: ONEARM, sport: 48600, dport: 80, protocol: 'tcp' })?.synced, true);
  });
});
