// Codec leniencies closed (issue 11.13), as byte vectors: an IPv6 next hop for IPv4 NLRI without
// RFC 8950, AS 0 in AS_PATH / AS4_PATH / AGGREGATOR (RFC 7607), and MP attributes of families the
// session did not negotiate. Each gets the RFC 7606 handling; none resets the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, DEFAULT_CONTEXT, type CodecContext, type UpdateMessage } from '../../src/bgp/wire/index.js';

/** A whole UPDATE message around `body` (header: marker, length, type 2). */
function update(body: number[]): Buffer {
  const len = 19 + body.length;
  return Buffer.from([...new Array(16).fill(0xff), len >> 8, len & 0xff, 2, ...body]);
}
/** UPDATE body: no withdrawn routes, the attributes, then classic NLRI. */
function body(attrs: number[], nlri: number[] = []): number[] {
  return [0, 0, attrs.length >> 8, attrs.length & 0xff, ...attrs, ...nlri];
}
const AS4: CodecContext = { ...DEFAULT_CONTEXT, as4: true };
const V4_ONLY: CodecContext = { ...AS4, families: [{ afi: 1, safi: 1 }] };
const BOTH: CodecContext = { ...AS4, families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] };

const ORIGIN = [0x40, 1, 1, 0]; // ORIGIN, length 1, IGP
const AS_PATH_65010 = [0x40, 2, 6, 2, 1, 0, 0, 0xfe, 0x12]; // AS_PATH, length 6: AS_SEQUENCE of 1, AS 65010 (4 bytes)
const NEXT_HOP = [0x40, 3, 4, 192, 0, 2, 1]; // NEXT_HOP, length 4, 192.0.2.1
const NLRI_V4 = [32, 192, 0, 2, 10]; // 192.0.2.10/32
const V6_NH = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]; // 2001:db8::1
// MP_REACH_NLRI, optional, length 26: AFI 1, SAFI 1, next hop length 16, 2001:db8::1, reserved, 192.0.2.10/32
const MP_REACH_V4_V6NH = [0x80, 14, 26, 0, 1, 1, 16, ...V6_NH, 0, ...NLRI_V4];
// MP_REACH_NLRI, optional, length 38: AFI 2, SAFI 1, next hop length 16, 2001:db8::1, reserved, 2001:db8::a/128
const MP_REACH_V6 = [0x80, 14, 38, 0, 2, 1, 16, ...V6_NH, 0, 128, ...V6_NH.slice(0, 15), 0x0a];
// MP_UNREACH_NLRI, optional, length 20: AFI 2, SAFI 1, 2001:db8::a/128
const MP_UNREACH_V6 = [0x80, 15, 20, 0, 2, 1, 128, ...V6_NH.slice(0, 15), 0x0a];

const dec = (b: number[], ctx: CodecContext) => decodeMessage(update(b), ctx) as UpdateMessage;
const errs = (u: UpdateMessage) => (u.errors ?? []).map((e) => `${e.bgpCode}/${e.subcode} ${e.handling}`);

test('leniency: an IPv6 next hop for IPv4 NLRI without RFC 8950 is treat-as-withdraw (RFC 7606 §7.11)', () => {
  const u = dec(body([...ORIGIN, ...AS_PATH_65010, ...MP_REACH_V4_V6NH]), V4_ONLY);
  assert.equal(u.treatAsWithdraw, true);
  assert.deepEqual([...u.withdrawn, ...(u.attributes.mpUnreach?.withdrawn ?? [])], ['192.0.2.10/32']);
  assert.equal(u.attributes.mpReach, undefined);
  assert.deepEqual(errs(u), ['3/9 treat-as-withdraw']);
  // with RFC 8950 negotiated the same bytes are a route via 2001:db8::1
  const ok = dec(body([...ORIGIN, ...AS_PATH_65010, ...MP_REACH_V4_V6NH]), { ...V4_ONLY, extendedNextHop: true });
  assert.deepEqual(ok.attributes.mpReach, { afi: 1, safi: 1, nextHops: ['2001:db8::1'], nlri: ['192.0.2.10/32'] });
  assert.equal(ok.treatAsWithdraw, undefined);
});

test('leniency: AS 0 in AS_PATH makes the UPDATE treat-as-withdraw (RFC 7607, RFC 7606 §7.2)', () => {
  const AS_PATH_0 = [0x40, 2, 10, 2, 2, 0, 0, 0xfe, 0x12, 0, 0, 0, 0]; // AS_PATH, length 10: AS_SEQUENCE of 2: 65010, 0
  const u = dec(body([...ORIGIN, ...AS_PATH_0, ...NEXT_HOP], NLRI_V4), V4_ONLY);
  assert.equal(u.treatAsWithdraw, true);
  assert.deepEqual(u.withdrawn, ['192.0.2.10/32']);
  assert.deepEqual(u.nlri, []);
  assert.deepEqual(errs(u), ['3/11 treat-as-withdraw']);
});

test('leniency: AS 0 in AS4_PATH is discarded (RFC 7607, RFC 6793 §6); the route stands', () => {
  const AS_PATH_2B = [0x40, 2, 4, 2, 1, 0x5b, 0xa0]; // AS_PATH, length 4 (2-byte session): AS_SEQUENCE of 1, AS_TRANS
  const AS4_PATH_0 = [0xc0, 17, 6, 2, 1, 0, 0, 0, 0]; // AS4_PATH, optional transitive, length 6: AS_SEQUENCE of 1, AS 0
  const u = dec(body([...ORIGIN, ...AS_PATH_2B, ...NEXT_HOP, ...AS4_PATH_0], NLRI_V4), { ...DEFAULT_CONTEXT, families: [{ afi: 1, safi: 1 }] });
  assert.equal(u.treatAsWithdraw, undefined);
  assert.deepEqual(u.nlri, ['192.0.2.10/32']);
  assert.equal(u.attributes.as4Path, undefined);
  assert.deepEqual(errs(u), ['3/11 attribute-discard']);
});

test('leniency: AS 0 in AGGREGATOR is discarded (RFC 7607, RFC 7606 §7.7); the route stands', () => {
  const AGGREGATOR_0 = [0xc0, 7, 8, 0, 0, 0, 0, 192, 0, 2, 1]; // AGGREGATOR, optional transitive, length 8: AS 0, 192.0.2.1
  const u = dec(body([...ORIGIN, ...AS_PATH_65010, ...NEXT_HOP, ...AGGREGATOR_0], NLRI_V4), V4_ONLY);
  assert.deepEqual(u.nlri, ['192.0.2.10/32']);
  assert.equal(u.attributes.aggregator, undefined);
  assert.deepEqual(errs(u), ['3/9 attribute-discard']);
});

test('leniency: MP_REACH / MP_UNREACH of a family not negotiated are discarded: neither learned nor withdrawn', () => {
  const reach = dec(body([...ORIGIN, ...AS_PATH_65010, ...MP_REACH_V6]), V4_ONLY);
  assert.equal(reach.attributes.mpReach, undefined);
  assert.equal(reach.treatAsWithdraw, undefined);
  assert.deepEqual(reach.withdrawn, []);
  assert.deepEqual(errs(reach), ['3/9 attribute-discard']);
  const unreach = dec(body(MP_UNREACH_V6), V4_ONLY);
  assert.equal(unreach.attributes.mpUnreach, undefined);
  assert.deepEqual(errs(unreach), ['3/9 attribute-discard']);
  // negotiated: the same bytes decode
  assert.deepEqual(dec(body([...ORIGIN, ...AS_PATH_65010, ...MP_REACH_V6]), BOTH).attributes.mpReach?.nlri, ['2001:db8::a/128']);
  assert.deepEqual(dec(body(MP_UNREACH_V6), BOTH).attributes.mpUnreach?.withdrawn, ['2001:db8::a/128']);
  // without a session context (tools, captures) MP attributes of any supported family decode
  assert.deepEqual(dec(body([...ORIGIN, ...AS_PATH_65010, ...MP_REACH_V6]), AS4).attributes.mpReach?.nlri, ['2001:db8::a/128']);
});
