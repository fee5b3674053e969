// L2Announcer through an in-memory PacketIo: which frames are answered (table with reasons),
// gratuitous bursts and refreshes, giving a VIP up, solicited-node group membership, metrics.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { L2Announcer, type FrameResult } from '../../src/l2/announcer.js';
import { decodeArp, encodeArp, gratuitousArpFrame } from '../../src/l2/arp.js';
import { BROADCAST_MAC, decodeEthernet, encodeEthernet, formatMac, parseMac, ZERO_MAC } from '../../src/l2/ethernet.js';
import { decodeNeighbourAdvertisement, encodeNeighbourSolicitation, solicitedNodeAddress, unsolicitedAdvertisementFrame } from '../../src/l2/ndp.js';
import type { PacketIo } from '../../src/l2/packet-io.js';
import { IgnoreReason } from '../../src/l2/reasons.js';
import { silentLogger } from '../../src/lib/logger.js';

const OUR_MAC = parseMac('02:00:00:00:01:01');
const CLIENT_MAC = parseMac('02:00:00:00:09:09');

class FakeIo implements PacketIo {
  readonly mac = OUR_MAC;
  sent: Uint8Array[] = [];
  groups = new Set<string>();
  handler: ((f: Uint8Array) => void) | undefined;
  closed = false;
  send(frame: Uint8Array): void {
    this.sent.push(frame);
  }
  onFrame(h: (f: Uint8Array) => void): void {
    this.handler = h;
  }
  addMulticast(mac: Uint8Array): void {
    assert.ok(!this.groups.has(formatMac(mac)), 'joined twice');
    this.groups.add(formatMac(mac));
  }
  dropMulticast(mac: Uint8Array): void {
    assert.ok(this.groups.delete(formatMac(mac)), 'left a group never joined');
  }
  close(): void {
    this.closed = true;
  }
}

function make(opts: { garpCount?: number; garpIntervalMs?: number; refreshIntervalMs?: number } = {}) {
  const io = new FakeIo();
  const registry = new Registry();
  const a = new L2Announcer({ iface: 'eth0', logger: silentLogger(), registry, io, ...opts });
  return { io, registry, a };
}

const arpReq = (targetIp: string, senderIp = '192.0.2.9', op: 1 | 2 = 1, srcMac = CLIENT_MAC) =>
  encodeEthernet({ dst: BROADCAST_MAC, src: srcMac, etherType: 0x0806, payload: encodeArp({ op, senderMac: srcMac, senderIp, targetMac: ZERO_MAC, targetIp }) });
const ns = (target: string, src = '2001:db8::9', srcMac = CLIENT_MAC) =>
  encodeNeighbourSolicitation({ src, dst: solicitedNodeAddress(target), target, sourceMac: srcMac }, srcMac);

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  const v = m.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

test('frame table: answered only for owned VIPs, every other path has its reason', () => {
  const { a } = make({ garpCount: 0, refreshIntervalMs: 0 });
  a.start();
  a.setOwned(['192.0.2.240', '2001:db8::f0', '2001:DB8::F1']);
  const short = new Uint8Array(10);
  const ipv4 = encodeEthernet({ dst: OUR_MAC, src: CLIENT_MAC, etherType: 0x0800, payload: new Uint8Array(20) });
  const vlan = encodeEthernet({ dst: BROADCAST_MAC, src: CLIENT_MAC, etherType: 0x8100, payload: new Uint8Array(40) });
  const badHw = arpReq('192.0.2.240');
  badHw[15] = 6;
  const nsHop = ns('2001:db8::f0');
  nsHop[21] = 64;
  const rows: Array<{ desc: string; frame: Uint8Array; want: { action: 'reply'; vip: string } | { action: 'ignore'; reason: string } }> = [
    { desc: 'ARP who-has owned VIP', frame: arpReq('192.0.2.240'), want: { action: 'reply', vip: '192.0.2.240' } },
    { desc: 'ARP probe (sender 0.0.0.0) for owned VIP is defended', frame: arpReq('192.0.2.240', '0.0.0.0'), want: { action: 'reply', vip: '192.0.2.240' } },
    { desc: 'ARP who-has other address', frame: arpReq('192.0.2.241'), want: { action: 'ignore', reason: IgnoreReason.NotOwned } },
    { desc: 'ARP reply for owned VIP', frame: arpReq('192.0.2.240', '192.0.2.9', 2), want: { action: 'ignore', reason: IgnoreReason.ArpNotRequest } },
    { desc: 'another node\'s gratuitous ARP for our VIP', frame: gratuitousArpFrame('192.0.2.240', CLIENT_MAC), want: { action: 'ignore', reason: IgnoreReason.ArpSenderIsTarget } },
    { desc: 'our own gratuitous ARP looped back', frame: gratuitousArpFrame('192.0.2.240', OUR_MAC), want: { action: 'ignore', reason: IgnoreReason.OwnFrame } },
    { desc: 'ARP with bad hardware type', frame: badHw, want: { action: 'ignore', reason: IgnoreReason.ArpBadHardware } },
    { desc: 'runt frame', frame: short, want: { action: 'ignore', reason: IgnoreReason.ShortFrame } },
    { desc: 'IPv4 packet', frame: ipv4, want: { action: 'ignore', reason: IgnoreReason.OtherEtherType } },
    { desc: 'VLAN-tagged frame', frame: vlan, want: { action: 'ignore', reason: IgnoreReason.OtherEtherType } },
    { desc: 'NS for owned VIP', frame: ns('2001:db8::f0'), want: { action: 'reply', vip: '2001:db8::f0' } },
    { desc: 'NS for owned VIP given in upper case', frame: ns('2001:db8::f1'), want: { action: 'reply', vip: '2001:db8::f1' } },
    { desc: 'NS for other address', frame: ns('2001:db8::f2'), want: { action: 'ignore', reason: IgnoreReason.NotOwned } },
    { desc: 'NS with hop limit 64', frame: nsHop, want: { action: 'ignore', reason: IgnoreReason.NdpBadHopLimit } },
    { desc: 'unsolicited NA from another node', frame: unsolicitedAdvertisementFrame('2001:db8::f0', CLIENT_MAC), want: { action: 'ignore', reason: IgnoreReason.NotNeighbourSolicitation } },
  ];
  for (const row of rows) {
    const r: FrameResult = a.receive(row.frame);
    if (row.want.action === 'reply') {
      assert.equal(r.action, 'reply', row.desc);
      if (r.action === 'reply') assert.equal(r.vip, row.want.vip, row.desc);
    } else {
      assert.deepEqual(r.action === 'ignore' ? r.reason : r, row.want.reason, row.desc);
    }
  }
});

test('ARP reply goes to the asker from the interface MAC', () => {
  const { a, io } = make({ garpCount: 0 });
  a.start();
  a.setOwned(['192.0.2.240']);
  io.handler!(arpReq('192.0.2.240'));
  assert.equal(io.sent.length, 1);
  const eth = decodeEthernet(io.sent[0]!)!;
  assert.equal(formatMac(eth.dst), formatMac(CLIENT_MAC));
  assert.equal(formatMac(eth.src), formatMac(OUR_MAC));
  const r = decodeArp(eth.payload);
  assert.ok(r.ok);
  assert.equal(r.value.op, 2);
  assert.equal(r.value.senderIp, '192.0.2.240');
  assert.equal(formatMac(r.value.senderMac), formatMac(OUR_MAC));
  assert.equal(r.value.targetIp, '192.0.2.9');
  a.stop();
});

test('NA reply: unicast to the solicitor, S and O set, our MAC in the target option', () => {
  const { a, io } = make({ garpCount: 0 });
  a.start();
  a.setOwned(['2001:db8::f0']);
  io.handler!(ns('2001:db8::f0'));
  const eth = decodeEthernet(io.sent[0]!)!;
  assert.equal(formatMac(eth.dst), formatMac(CLIENT_MAC));
  const na = decodeNeighbourAdvertisement(eth.payload);
  assert.ok(na.ok);
  assert.equal(na.value.dst, '2001:db8::9');
  assert.equal(na.value.target, '2001:db8::f0');
  assert.deepEqual([na.value.solicited, na.value.override], [true, true]);
  assert.equal(formatMac(na.value.targetMac!), formatMac(OUR_MAC));
  a.stop();
});

test('taking a VIP sends a burst of N announcements spaced as configured, then refreshes', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  try {
    const { a, io } = make({ garpCount: 3, garpIntervalMs: 50, refreshIntervalMs: 1000 });
    a.start();
    a.setOwned(['192.0.2.240', '2001:db8::f0']);
    assert.equal(io.sent.length, 2, 'first of each burst at once');
    mock.timers.tick(49);
    assert.equal(io.sent.length, 2);
    mock.timers.tick(1);
    assert.equal(io.sent.length, 4);
    mock.timers.tick(50);
    assert.equal(io.sent.length, 6);
    mock.timers.tick(500);
    assert.equal(io.sent.length, 6, 'burst is over after 3');
    mock.timers.tick(400);
    assert.equal(io.sent.length, 8, 'refresh after 1000 ms');
    mock.timers.tick(1000);
    assert.equal(io.sent.length, 10);
    const kinds = io.sent.map((f) => formatMac(f.subarray(0, 6)));
    assert.equal(kinds.filter((k) => k === 'ff:ff:ff:ff:ff:ff').length, 5);
    assert.equal(kinds.filter((k) => k === '33:33:00:00:00:01').length, 5);
    a.stop();
  } finally {
    mock.timers.reset();
  }
});

test('giving a VIP up stops answering and announcing at once, mid-burst', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  try {
    const { a, io } = make({ garpCount: 5, garpIntervalMs: 10, refreshIntervalMs: 100 });
    a.start();
    a.setOwned(['192.0.2.240', '192.0.2.241']);
    assert.equal(io.sent.length, 2);
    a.setOwned(['192.0.2.241']);
    const r = a.receive(arpReq('192.0.2.240'));
    assert.deepEqual(r, { action: 'ignore', reason: IgnoreReason.NotOwned, proto: 'arp' });
    io.sent = [];
    mock.timers.tick(1000);
    const senders = new Set(io.sent.map((f) => decodeArp(f.subarray(14)).ok && (decodeArp(f.subarray(14)) as { value: { senderIp: string } }).value.senderIp));
    assert.deepEqual([...senders], ['192.0.2.241']);
    a.setOwned([]);
    io.sent = [];
    mock.timers.tick(1000);
    assert.equal(io.sent.length, 0);
    a.stop();
  } finally {
    mock.timers.reset();
  }
});

test('setOwned is declarative: the same set twice sends nothing new; stop releases groups and the socket', () => {
  const { a, io } = make({ garpCount: 1, refreshIntervalMs: 0 });
  a.start();
  a.setOwned(['2001:db8::f0', '2001:db8:1::f0', '2001:db8::1:f1']);
  // ::f0 and 1::f0 share the solicited-node group ff02::1:ff00:f0
  assert.deepEqual([...io.groups].sort(), ['33:33:ff:00:00:f0', '33:33:ff:01:00:f1']);
  assert.equal(io.sent.length, 3);
  a.setOwned(['2001:DB8::F0', '2001:db8:1::f0', '2001:db8::1:f1']);
  assert.equal(io.sent.length, 3);
  a.setOwned(['2001:db8:1::f0']);
  assert.deepEqual([...io.groups], ['33:33:ff:00:00:f0'], 'group kept while one VIP still needs it');
  assert.deepEqual(a.ownedVips(), ['2001:db8:1::f0']);
  a.stop();
  assert.equal(io.groups.size, 0);
  assert.ok(io.closed);
  assert.deepEqual(a.receive(ns('2001:db8:1::f0')), { action: 'ignore', reason: IgnoreReason.Stopped });
});

test('setOwned rejects a non-address', () => {
  const { a } = make();
  assert.throws(() => a.setOwned(['192.0.2.300']), { code: 'EDGELB_ERR_INVALID_ARGUMENT' });
});

test('metrics count requests seen, replies, gratuitous packets and ignores by reason', async () => {
  const { a, registry } = make({ garpCount: 2, garpIntervalMs: 1, refreshIntervalMs: 0 });
  a.start();
  a.setOwned(['192.0.2.240', '2001:db8::f0']);
  a.receive(arpReq('192.0.2.240'));
  a.receive(arpReq('192.0.2.99'));
  a.receive(ns('2001:db8::f0'));
  a.receive(ns('2001:db8::99'));
  a.receive(new Uint8Array(3));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await metric(registry, 'edgelb_l2_requests_total', { proto: 'arp' }), 2);
  assert.equal(await metric(registry, 'edgelb_l2_requests_total', { proto: 'ndp' }), 2);
  assert.equal(await metric(registry, 'edgelb_l2_replies_total', { proto: 'arp' }), 1);
  assert.equal(await metric(registry, 'edgelb_l2_replies_total', { proto: 'ndp' }), 1);
  assert.equal(await metric(registry, 'edgelb_l2_gratuitous_total', { proto: 'arp' }), 2);
  assert.equal(await metric(registry, 'edgelb_l2_gratuitous_total', { proto: 'ndp' }), 2);
  assert.equal(await metric(registry, 'edgelb_l2_ignored_total', { reason: IgnoreReason.NotOwned }), 2);
  assert.equal(await metric(registry, 'edgelb_l2_ignored_total', { reason: IgnoreReason.ShortFrame }), 1);
  assert.equal(await metric(registry, 'edgelb_l2_owned_vips'), 2);
  a.stop();
});
