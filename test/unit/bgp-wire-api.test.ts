// BGP wire codec helpers the session and speaker call: UPDATE packing, End-of-RIB, OPEN negotiation and
// checks, AS4 merging rules, argument errors on encode, and the error type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EdgelbError } from '../../src/lib/errors.js';
import { bytesToIp, parsePrefix } from '../../src/lib/addr.js';
import {
  AS_TRANS,
  Afi,
  BgpDecodeError,
  Safi,
  asSequence,
  buildEndOfRib,
  decodeMessage,
  encodeMessage,
  errorName,
  isEndOfRib,
  mergeAs4Path,
  openMessage,
  packUpdates,
  prefixBytes,
  strongerHandling,
  updateMessage,
  type CodecContext,
  type OpenMessage,
  type PathAttributes,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';

const hex = (...fields: string[]) => Buffer.from(fields.join('').replace(/\s+/g, ''), 'hex');
const MARKER = 'ffffffffffffffffffffffffffffffff';
const AS4: CodecContext = { as4: true, extendedMessage: false, maxLength: 4096 };
const AS2: CodecContext = { as4: false, extendedMessage: false, maxLength: 4096 };
const EXT: CodecContext = { as4: true, extendedMessage: true, maxLength: 65535 };

const hosts4 = (n: number) => Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
const hosts6 = (n: number) => Array.from({ length: n }, (_, i) => `2001:db8::${(i + 1).toString(16)}/128`);
const ATTRS: PathAttributes = { origin: 'igp', asPath: [asSequence(4200000000)], nextHop: '192.0.2.1', med: 10, communities: ['65000:1'], largeCommunities: ['4200000000:1:1'] };

function decodeAll(bufs: Buffer[], ctx: CodecContext): UpdateMessage[] {
  return bufs.map((b) => {
    assert.ok(b.length <= ctx.maxLength, `${b.length} <= ${ctx.maxLength}`);
    const m = decodeMessage(b, ctx);
    assert.equal(m.type, 'update');
    assert.equal((m as UpdateMessage).errors, undefined);
    return m as UpdateMessage;
  });
}

test('packUpdates IPv4: every prefix once, in order, shared attributes, each UPDATE full', () => {
  const nlri = hosts4(3000);
  const out = packUpdates(ATTRS, nlri, [], AS4, 4);
  const ups = decodeAll(out, AS4);
  assert.deepEqual(ups.flatMap((u) => u.nlri), nlri);
  for (const u of ups) assert.deepEqual(u.attributes, ATTRS);
  // a /32 costs 5 bytes: no UPDATE but the last could have taken one more
  for (const b of out.slice(0, -1)) assert.ok(b.length + 5 > 4096, `${b.length}`);
  const perMsg = ups[0]!.nlri.length;
  assert.equal(out.length, Math.ceil(3000 / perMsg));
  assert.ok(perMsg > 790, `${perMsg} prefixes per UPDATE`);
});

test('packUpdates IPv4 withdrawals: attribute-less UPDATEs first, then announcements', () => {
  const out = packUpdates(ATTRS, hosts4(10), hosts4(2000).slice(1000), AS4, 4);
  const ups = decodeAll(out, AS4);
  const wd = ups.filter((u) => u.withdrawn.length > 0);
  assert.deepEqual(wd.flatMap((u) => u.withdrawn), hosts4(2000).slice(1000));
  for (const u of wd) assert.deepEqual([u.attributes, u.nlri], [{}, []]);
  assert.deepEqual(ups[ups.length - 1]!.nlri, hosts4(10));
  assert.ok(ups.indexOf(wd[wd.length - 1]!) < ups.length - 1, 'withdrawals before announcements');
});

test('packUpdates IPv6: MP_REACH with the next hop pair, no classic NEXT_HOP; MP_UNREACH for withdrawals', () => {
  const attrs: PathAttributes = { ...ATTRS, nextHop: undefined, mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: ['2001:db8::dead/128'] } };
  delete attrs.nextHop;
  const nlri = hosts6(1500);
  const withdrawn = hosts6(3000).slice(1500);
  const ups = decodeAll(packUpdates(attrs, nlri, withdrawn, AS4, 6), AS4);
  const reach = ups.filter((u) => u.attributes.mpReach);
  const unreach = ups.filter((u) => u.attributes.mpUnreach);
  assert.deepEqual(reach.flatMap((u) => u.attributes.mpReach!.nlri), nlri, 'the NLRI in attrs.mpReach are not sent');
  assert.deepEqual(unreach.flatMap((u) => u.attributes.mpUnreach!.withdrawn), withdrawn);
  for (const u of reach) {
    assert.deepEqual(u.attributes.mpReach!.nextHops, ['2001:db8::1', 'fe80::1']);
    const { mpReach: _r, ...rest } = u.attributes;
    void _r;
    const { nextHop: _n, ...want } = ATTRS;
    void _n;
    assert.deepEqual(rest, want);
    assert.deepEqual([u.nlri, u.withdrawn], [[], []]);
  }
  // an IPv6 attrs.nextHop works too
  const simple = decodeAll(packUpdates({ origin: 'igp', asPath: [], nextHop: '2001:db8::1' }, hosts6(3), [], AS4, 6), AS4);
  assert.deepEqual(simple[0]!.attributes, { origin: 'igp', asPath: [], mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: hosts6(3) } });
});

test('packUpdates: extended messages carry ~16x more per UPDATE; toward an old speaker AS4_PATH is added', () => {
  const small = packUpdates(ATTRS, hosts4(20000), [], AS4, 4);
  const big = packUpdates(ATTRS, hosts4(20000), [], EXT, 4);
  assert.ok(big.length * 10 < small.length, `${big.length} vs ${small.length}`);
  assert.deepEqual(decodeAll(big, EXT).flatMap((u) => u.nlri), hosts4(20000));
  const old = packUpdates(ATTRS, hosts4(2), [], AS2, 4);
  assert.ok(old[0]!.includes(hex('c0 11 06 02 01 fa56ea00')), 'AS4_PATH');
  assert.deepEqual(decodeAll(old, AS2)[0]!.attributes.asPath, [asSequence(4200000000)]);
});

test('packUpdates argument errors', () => {
  const rows: Array<[string, () => unknown]> = [
    ['IPv4 without a next hop', () => packUpdates({ origin: 'igp', asPath: [] }, hosts4(1), [], AS4, 4)],
    ['IPv4 with an IPv6 next hop', () => packUpdates({ origin: 'igp', asPath: [], nextHop: '2001:db8::1' }, hosts4(1), [], AS4, 4)],
    ['IPv6 without a next hop', () => packUpdates({ origin: 'igp', asPath: [] }, hosts6(1), [], AS4, 6)],
    ['an IPv6 prefix in the IPv4 family', () => packUpdates(ATTRS, ['2001:db8::/32'], [], AS4, 4)],
    ['not a prefix', () => packUpdates(ATTRS, ['10.0.0.0/33'], [], AS4, 4)],
    ['LOCAL_PREF out of range', () => packUpdates({ ...ATTRS, localPref: 2 ** 32 }, hosts4(1), [], AS4, 4)],
    ['attributes that leave no room', () => packUpdates({ ...ATTRS, communities: Array.from({ length: 1020 }, (_, i) => `1:${i}`) }, hosts4(1), [], AS4, 4)],
  ];
  for (const [desc, fn] of rows) assert.throws(fn, (e: unknown) => e instanceof EdgelbError && e.code === 'EDGELB_ERR_INVALID_ARGUMENT', desc);
  assert.deepEqual(packUpdates(ATTRS, [], [], AS4, 4), [], 'nothing to send');
});

test('End-of-RIB: built bytes and recognition', () => {
  assert.deepEqual(buildEndOfRib(Afi.IPV4, Safi.UNICAST), hex(MARKER, '0017 02 0000 0000'));
  assert.deepEqual(buildEndOfRib(Afi.IPV6, Safi.UNICAST), hex(MARKER, '001d 02 0000 0006', '80 0f 03 0002 01'));
  // a family we do not decode (L2VPN EVPN, AFI 25 SAFI 70) still gets a marker
  assert.deepEqual(isEndOfRib(decodeMessage(buildEndOfRib(25, 70), AS4) as UpdateMessage), { afi: 25, safi: 70 });
  const rows: Array<[string, UpdateMessage, ReturnType<typeof isEndOfRib>]> = [
    ['empty UPDATE', updateMessage({}), { afi: 1, safi: 1 }],
    ['empty MP_UNREACH IPv6', updateMessage({ attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [] } } }), { afi: 2, safi: 1 }],
    ['MP_UNREACH withdrawing something', updateMessage({ attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8::/32'] } } }), undefined],
    ['withdrawal', updateMessage({ withdrawn: ['10.0.0.0/8'] }), undefined],
    ['announcement', updateMessage({ attributes: ATTRS, nlri: ['10.0.0.0/8'] }), undefined],
    ['empty MP_UNREACH plus another attribute', updateMessage({ attributes: { origin: 'igp', mpUnreach: { afi: 2, safi: 1, withdrawn: [] } } }), undefined],
    ['treat-as-withdraw with nothing left', { ...updateMessage({}), treatAsWithdraw: true }, undefined],
  ];
  for (const [desc, u, want] of rows) assert.deepEqual(isEndOfRib(u), want, desc);
});

const LOCAL = openMessage({ asn: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: [{ type: 'mp', afi: 1, safi: 1 }, { type: 'mp', afi: 2, safi: 1 }, { type: 'route-refresh' }, { type: 'extended-message' }] });

test('AS4 merging (RFC 6793 §4.2.3) from an old speaker', () => {
  const upd = (attrs: string) => {
    const a = hex(attrs);
    const b = Buffer.concat([hex(MARKER, '0000 02 0000'), Buffer.from([a.length >> 8, a.length & 255]), a, hex('18 c63364')]);
    b.writeUInt16BE(b.length, 16);
    return b;
  };
  const base = '40 01 01 00' + '40 03 04 c0000201';
  const rows: Array<[string, CodecContext, string, PathAttributes['asPath'], PathAttributes['aggregator']]> = [
    ['AS4_PATH replaces the trailing AS_TRANS', AS2, base + '40 02 08 02 03 fde9 fdea 5ba0' + 'c0 11 06 02 01 fa56ea00', [asSequence(65001, 65002, 4200000000)], undefined],
    ['AS4_PATH longer than AS_PATH is ignored', AS2, base + '40 02 04 02 01 5ba0' + 'c0 11 0a 02 02 0000fde9 fa56ea00', [asSequence(AS_TRANS)], undefined],
    [
      'AS4_AGGREGATOR used when AGGREGATOR is AS_TRANS',
      AS2,
      base + '40 02 04 02 01 5ba0' + 'c0 07 06 5ba0 c0000202' + 'c0 11 06 02 01 fa56ea00' + 'c0 12 08 fa56ea00 c0000202',
      [asSequence(4200000000)],
      { asn: 4200000000, address: '192.0.2.2' },
    ],
    [
      'AGGREGATOR not AS_TRANS: AS4_AGGREGATOR and AS4_PATH are both ignored',
      AS2,
      base + '40 02 04 02 01 5ba0' + 'c0 07 06 fde9 c0000202' + 'c0 11 06 02 01 fa56ea00' + 'c0 12 08 fa56ea00 c0000202',
      [asSequence(AS_TRANS)],
      { asn: 65001, address: '192.0.2.2' },
    ],
    ['a 4-octet AS speaker ignores AS4_PATH', AS4, base + '40 02 06 02 01 0000fde9' + 'c0 11 06 02 01 fa56ea00', [asSequence(65001)], undefined],
  ];
  for (const [desc, ctx, attrs, asPath, aggregator] of rows) {
    const u = decodeMessage(upd(attrs), ctx) as UpdateMessage;
    assert.equal(u.errors, undefined, desc);
    assert.deepEqual(u.attributes.asPath, asPath, desc);
    assert.deepEqual(u.attributes.aggregator, aggregator, desc);
    assert.equal(u.attributes.as4Path, undefined, desc);
  }
  // confederation segments lead the merged path
  assert.deepEqual(
    mergeAs4Path([{ type: 'confed-sequence', asns: [64512] }, asSequence(65001, AS_TRANS)], [asSequence(65001, 4200000000)]),
    [{ type: 'confed-sequence', asns: [64512] }, asSequence(65001, 4200000000)],
  );
});

test('treat-as-withdraw that would need two MP_UNREACH families resets the session', () => {
  const attrs = hex(
    '80 0e 1e 0002 01 10 20010db8000000000000000000000001 00 40 20010db800000000', // MP_REACH, length 30: IPv6 2001:db8::/64 via 2001:db8::1
    '80 0f 07 0001 01 18 c63364', // MP_UNREACH, length 7: IPv4 198.51.100.0/24
    '40 01 01 07', // ORIGIN 7: invalid -> treat-as-withdraw
    '40 02 00', // AS_PATH empty
  );
  const b = Buffer.concat([hex(MARKER, '0000 02 0000'), Buffer.from([0, attrs.length]), attrs]);
  b.writeUInt16BE(b.length, 16);
  assert.throws(
    () => decodeMessage(b, AS4),
    (e: unknown) => e instanceof BgpDecodeError && e.bgpCode === 3 && e.subcode === 6 && e.handling === 'session-reset',
  );
});

test('encodeMessage rejects what cannot be sent, with EDGELB_ERR_INVALID_ARGUMENT', () => {
  const rows: Array<[string, () => unknown]> = [
    ['UPDATE over 4096 bytes', () => encodeMessage(updateMessage({ withdrawn: hosts4(900) }), AS4)],
    ['OPEN over 4096 bytes even with extended messages', () => encodeMessage({ ...LOCAL, capabilities: Array.from({ length: 30 }, () => ({ type: 'unknown' as const, code: 200, value: Buffer.alloc(200) })) }, EXT)],
    ['a bad prefix', () => encodeMessage(updateMessage({ withdrawn: ['10.0.0.256/32'] }), AS4)],
    ['a bad community', () => encodeMessage(updateMessage({ attributes: { communities: ['65536:1'] } }), AS4)],
    ['a bad large community', () => encodeMessage(updateMessage({ attributes: { largeCommunities: ['1:2'] } }), AS4)],
    ['an extended community of 7 bytes', () => encodeMessage(updateMessage({ attributes: { extendedCommunities: [Buffer.alloc(7)] } }), AS4)],
    ['an IPv6 classic NEXT_HOP', () => encodeMessage(updateMessage({ attributes: { nextHop: '2001:db8::1' } }), AS4)],
    ['MED out of range', () => encodeMessage(updateMessage({ attributes: { med: -1 } }), AS4)],
    ['MP_REACH of an unsupported family', () => encodeMessage(updateMessage({ attributes: { mpReach: { afi: 25, safi: 70, nextHops: ['10.0.0.1'], nlri: ['10.0.0.0/8'] } } }), AS4)],
    ['MP_REACH IPv6 with an IPv4 next hop', () => encodeMessage(updateMessage({ attributes: { mpReach: { afi: 2, safi: 1, nextHops: ['10.0.0.1'], nlri: [] } } }), AS4)],
    ['OPEN My AS above 65535', () => encodeMessage({ ...LOCAL, myAsn: 70000 }, AS4)],
    ['OPEN with a bad identifier', () => encodeMessage({ ...LOCAL, bgpId: '1.2.3' }, AS4)],
    ['OPEN hold time above 65535', () => encodeMessage({ ...LOCAL, holdTime: 70000 }, AS4)],
    ['graceful restart time above 4095', () => encodeMessage({ ...LOCAL, capabilities: [{ type: 'graceful-restart', restartTime: 5000, restartState: false, families: [] }] }, AS4)],
    ['NOTIFICATION code above 255', () => encodeMessage({ type: 'notification', code: 256, subcode: 0, data: Buffer.alloc(0) }, AS4)],
    ['ROUTE-REFRESH AFI not an integer', () => encodeMessage({ type: 'route-refresh', afi: 1.5, safi: 1, subtype: 0 }, AS4)],
    ['an AS number above 4294967295', () => encodeMessage(updateMessage({ attributes: { asPath: [asSequence(2 ** 32)] } }), AS4)],
  ];
  for (const [desc, fn] of rows) assert.throws(fn, (e: unknown) => e instanceof EdgelbError && e.code === 'EDGELB_ERR_INVALID_ARGUMENT', desc);
  // the same UPDATE fits with extended messages
  assert.ok(encodeMessage(updateMessage({ withdrawn: hosts4(900) }), EXT).length > 4096);
});

test('BgpDecodeError: an EdgelbError with the NOTIFICATION fields; handlings ordered by RFC 7606 severity', () => {
  const e = new BgpDecodeError(3, 11, Buffer.from([1]), 'treat-as-withdraw', 'x');
  assert.ok(e instanceof EdgelbError);
  assert.equal(e.code, 'EDGELB_ERR_BGP_DECODE');
  assert.match(e.message, /update-message\/malformed-as-path \(treat-as-withdraw\): x/);
  assert.equal(e.withHandling('session-reset').handling, 'session-reset');
  assert.deepEqual(e.toNotification(), { type: 'notification', code: 3, subcode: 11, data: Buffer.from([1]) });
  assert.equal(strongerHandling('attribute-discard', 'treat-as-withdraw'), 'treat-as-withdraw');
  assert.equal(strongerHandling('session-reset', 'treat-as-withdraw'), 'session-reset');
  assert.equal(strongerHandling('attribute-discard', 'attribute-discard'), 'attribute-discard');
  assert.equal(errorName(6, 7), 'cease/connection-collision-resolution');
  assert.equal(errorName(5, 3), 'fsm/unexpected-in-established');
  assert.equal(errorName(9, 9), 'code9/subcode9');
});

test('prefix text forms: the codec parser agrees with lib/addr on valid input and rejects invalid input', () => {
  const rows: Array<[string, 4 | 6, string]> = [
    ['10.1.2.3/32', 4, '200a010203'],
    ['10.1.2.3', 4, '200a010203'],
    ['10.1.2.3/8', 4, '080a'],
    ['0.0.0.0/0', 4, '00'],
    ['192.168.255.255/17', 4, '11c0a880'],
    ['2001:DB8::1/128', 6, '8020010db8000000000000000000000001'],
    ['2001:db8:0:0:0:0:0:1', 6, '8020010db8000000000000000000000001'],
    ['::ffff:192.0.2.1/128', 6, '8000000000000000000000ffffc0000201'],
    ['::/0', 6, '00'],
    ['1::/16', 6, '100001'],
    ['2001:db8:1:2:3:4:5::/127', 6, '7f20010db8000100020003000400050000'],
  ];
  for (const [p, f, want] of rows) assert.equal(prefixBytes(p, f).toString('hex'), want, p);
  const bad: Array<[string, 4 | 6]> = [
    ['10.0.0.256/32', 4],
    ['10.0.0/24', 4],
    ['010.0.0.1', 4],
    ['10.0.0.1/33', 4],
    ['10.0.0.1/', 4],
    ['10.0.0.1/-1', 4],
    ['2001:db8::/32', 4],
    ['10.0.0.0/8', 6],
    ['1::2::3', 6],
    [':::', 6],
    ['1:2:3:4:5:6:7:8:9', 6],
    ['1:2:3:4:5:6:7', 6],
    ['12345::', 6],
    ['g::', 6],
    [':1::', 6],
    ['1:2:3:4:5:6:7:8::', 6],
    ['::1.2.3', 6],
    ['1.2.3.4::', 6],
    ['::1/129', 6],
    ['fe80::1%eth0', 6],
  ];
  for (const [p, f] of bad) assert.throws(() => prefixBytes(p, f), (e: unknown) => e instanceof EdgelbError && e.code === 'EDGELB_ERR_INVALID_ARGUMENT', p);
  // random addresses in canonical, fully written and upper-case forms
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), (a, len) => {
      const want = prefixBytes(`${bytesToIp(a)}/${len}`, 6);
      const full = Array.from({ length: 8 }, (_, i) => ((a[i * 2]! << 8) | a[i * 2 + 1]!).toString(16).padStart(4, '0')).join(':');
      assert.deepEqual(prefixBytes(`${full.toUpperCase()}/${len}`, 6), want);
      const p = parsePrefix(`${bytesToIp(a)}/${len}`);
      assert.deepEqual([...want], [len, ...p.addr.subarray(0, (len + 7) >> 3)]);
    }),
    { numRuns: 500 },
  );
});

test('regression: merging AS4_PATH keeps its own segment boundaries (only the AS_PATH head joins its first segment)', () => {
  // found by the round-trip property: [seq 1 2][seq 3] came back as [seq 1 2 3]
  const path = [asSequence(1, 4200000000), asSequence(3)];
  assert.deepEqual(mergeAs4Path([asSequence(1, AS_TRANS), asSequence(3)], path), path);
  // with a head kept from AS_PATH, the head and the first AS4_PATH segment form one sequence
  assert.deepEqual(mergeAs4Path([asSequence(7, 1, AS_TRANS)], [asSequence(1, 4200000000)]), [asSequence(7, 1, 4200000000)]);
});
