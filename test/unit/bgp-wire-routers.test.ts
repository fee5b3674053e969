// BGP wire codec against real routers: OPEN, UPDATE, End-of-RIB and NOTIFICATION bytes captured from
// BIRD 2, FRR bgpd and gobgpd (test/unit/fixtures/bgp/capture-routers.ts) decode to what they were told to send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AS_TRANS,
  decodeMessage,
  describeMessage,
  describeExtendedCommunity,
  encodeMessage,
  findCapability,
  gracefulRestartCapability,
  isEndOfRib,
  mpCapability,
  openMessage,
  peerAsn,
  DEFAULT_CONTEXT,
  type BgpMessage,
  type OpenMessage,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';
import { checkOpen, negotiate } from '../../src/bgp/session-open.js';
import { CAPTURED_ROUTER_PEER, CAPTURE_LISTENER, routerFixtures } from './fixtures/bgp/fixtures.js';

/** What each router is known to send in this setup (its defaults, and how it chose the IPv6 next hop). */
const EXPECT = {
  bird: { holdTime: 240, extendedMessage: true, unknownCaps: [71], v6NextHops: 2, notificationData: '0012' },
  frr: { holdTime: 180, extendedMessage: true, unknownCaps: [128, 69, 73, 71], v6NextHops: 2, notificationData: '0012' },
  gobgp: { holdTime: 90, extendedMessage: false, unknownCaps: [73, 5], v6NextHops: 1, notificationData: '' },
} as const;

const all = routerFixtures();
const fixtures = all.filter((f) => f.variant === undefined);

test('there is a capture of each of BIRD, FRR and GoBGP', () => {
  assert.deepEqual([...new Set(fixtures.map((f) => f.router))].sort(), ['bird', 'frr', 'gobgp']);
});

for (const fx of fixtures) {
  const want = EXPECT[fx.router];

  test(`${fx.file}: OPEN`, () => {
    const open = decodeMessage(fx.messages[0]!, DEFAULT_CONTEXT);
    assert.equal(open.type, 'open');
    if (open.type !== 'open') return;
    assert.equal(open.version, 4);
    assert.equal(open.myAsn, AS_TRANS, '4-byte AS 4200000001 sends AS_TRANS in My AS');
    assert.equal(peerAsn(open), 4200000001);
    assert.equal(open.bgpId, '10.255.77.2');
    assert.equal(open.holdTime, want.holdTime);
    assert.deepEqual(findCapability(open, 'as4'), { type: 'as4', asn: 4200000001 });
    const mp = open.capabilities.filter((c) => c.type === 'mp');
    assert.deepEqual(mp, [mpCapability(1, 1), mpCapability(2, 1)]);
    assert.ok(findCapability(open, 'route-refresh'));
    assert.equal(!!findCapability(open, 'extended-message'), want.extendedMessage);
    const gr = findCapability(open, 'graceful-restart');
    assert.ok(gr);
    assert.equal(gr.restartTime, 120);
    assert.deepEqual(
      gr.families.map((f) => [f.afi, f.safi]),
      [
        [1, 1],
        [2, 1],
      ],
    );
    assert.deepEqual(
      open.capabilities.filter((c) => c.type === 'unknown').map((c) => (c.type === 'unknown' ? c.code : 0)),
      want.unknownCaps,
    );
    if (fx.router === 'frr') {
      const host = open.capabilities.find((c) => c.type === 'unknown' && c.code === 73);
      assert.ok(host && host.type === 'unknown' && host.value.includes(Buffer.from('bgw-frr')), 'FRR hostname capability');
    }
    // production's session checks (src/bgp/session-open.ts) pass for the configured peer, and
    // fail with Bad Peer AS for another
    const ibgp = false;
    assert.equal(checkOpen(open, CAPTURED_ROUTER_PEER, CAPTURE_LISTENER.routerId, ibgp), null);
    const bad = checkOpen(open, { ...CAPTURED_ROUTER_PEER, asn: 4200000002 }, CAPTURE_LISTENER.routerId, ibgp);
    assert.deepEqual([bad?.code, bad?.subcode], [2, 2]);
    // production's negotiation gives what the capture recorded
    const n = negotiate(CAPTURED_ROUTER_PEER, open);
    assert.equal(fx.negotiated, `# negotiated as4=${n.ctx.as4} extendedMessage=${n.ctx.extendedMessage} maxLength=${n.ctx.maxLength}`);
    assert.equal(n.negotiated.holdTime, Math.min(90, want.holdTime));
    assert.deepEqual(n.negotiated.families, ['ipv4', 'ipv6']);
    assert.equal(n.negotiated.remoteId, '10.255.77.2');
    assert.equal(n.negotiated.peerGracefulRestart !== undefined, true, 'the routers were told to send graceful restart');
  });

  test(`${fx.file}: UPDATEs carry the test prefixes and attributes, End-of-RIB for both families, NOTIFICATION`, () => {
    const open = decodeMessage(fx.messages[0]!, DEFAULT_CONTEXT) as OpenMessage;
    const { ctx } = negotiate(CAPTURED_ROUTER_PEER, open);
    const msgs: BgpMessage[] = fx.messages.slice(1).map((b) => decodeMessage(b, ctx));
    const updates = msgs.filter((m): m is UpdateMessage => m.type === 'update');
    for (const u of updates) assert.equal(u.errors, undefined, describeMessage(u));

    const v4 = updates.find((u) => u.nlri.length > 0);
    assert.ok(v4);
    const shared = {
      origin: 'igp',
      asPath: [{ type: 'sequence', asns: [4200000001] }],
      med: 100,
      communities: ['65000:1'],
      largeCommunities: ['4200000001:1:2'],
    };
    const { extendedCommunities: ext4, ...rest4 } = v4.attributes;
    assert.deepEqual(rest4, { ...shared, nextHop: '10.255.77.2' });
    assert.deepEqual(ext4?.map(describeExtendedCommunity), ['rt:65000:100']);
    assert.deepEqual(v4.nlri, ['192.0.2.1/32']);
    assert.deepEqual(v4.withdrawn, []);

    const v6 = updates.find((u) => u.attributes.mpReach);
    assert.ok(v6);
    const { extendedCommunities: ext6, mpReach, ...rest6 } = v6.attributes;
    assert.deepEqual(rest6, shared, 'no classic NEXT_HOP with IPv6-only NLRI');
    assert.deepEqual(ext6?.map(describeExtendedCommunity), ['rt:65000:100']);
    assert.equal(mpReach!.afi, 2);
    assert.equal(mpReach!.safi, 1);
    assert.deepEqual(mpReach!.nlri, ['2001:db8::1/128']);
    assert.equal(mpReach!.nextHops.length, want.v6NextHops);
    assert.equal(mpReach!.nextHops[0], 'fd00:b9e::2');
    if (want.v6NextHops === 2) assert.match(mpReach!.nextHops[1]!, /^fe80:/, 'second next hop is link-local');

    const eors = updates.map(isEndOfRib).filter((x) => x !== undefined);
    assert.deepEqual(
      eors.sort((a, b) => a.afi - b.afi),
      [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
    );
    const last = msgs[msgs.length - 1]!;
    assert.deepEqual(last, { type: 'notification', code: 1, subcode: 2, data: Buffer.from(want.notificationData, 'hex') }, 'answer to a KEEPALIVE header with length 18');
    assert.ok(msgs.some((m) => m.type === 'keepalive'));
  });

  test(`${fx.file}: every message re-encodes to an equivalent message`, () => {
    const open = decodeMessage(fx.messages[0]!, DEFAULT_CONTEXT) as OpenMessage;
    const { ctx } = negotiate(CAPTURED_ROUTER_PEER, open);
    let identical = 0;
    fx.messages.forEach((b, i) => {
      const c = i === 0 ? DEFAULT_CONTEXT : ctx;
      const m = decodeMessage(b, c);
      const again = encodeMessage(m, c);
      assert.deepEqual(decodeMessage(again, c), m, describeMessage(m));
      if (again.equals(b)) identical++;
    });
    // KEEPALIVEs, End-of-RIBs and the NOTIFICATION are byte-identical at least
    assert.ok(identical >= 4, `${identical} of ${fx.messages.length} byte-identical`);
  });
}

test('BIRD as an old speaker (4-octet AS off): AS_TRANS in AS_PATH, the real path merged from AS4_PATH', () => {
  const fx = all.find((f) => f.router === 'bird' && f.variant === 'noas4');
  assert.ok(fx, 'bird-*-noas4.hex');
  const open = decodeMessage(fx.messages[0]!, DEFAULT_CONTEXT) as OpenMessage;
  assert.equal(open.myAsn, 65010);
  assert.equal(findCapability(open, 'as4'), undefined);
  assert.equal(peerAsn(open), 65010);
  const { ctx } = negotiate(CAPTURED_ROUTER_PEER, open);
  assert.deepEqual([ctx.as4, ctx.extendedMessage, ctx.maxLength], [false, false, 4096]);
  assert.deepEqual(ctx.families, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  const decoded = fx.messages.slice(1).map((raw) => ({ raw, msg: decodeMessage(raw, ctx) }));
  const updates = decoded.map((d) => d.msg).filter((m): m is UpdateMessage => m.type === 'update');
  const v4 = updates.find((u) => u.nlri.length > 0)!;
  // the wire carries 2-byte AS_PATH 65010 65011 23456 and AS4_PATH 65010 65011 4200000009
  const raw = decoded.find((d) => d.msg === v4)!.raw;
  assert.ok(raw.includes(Buffer.from('400208' + '0203' + 'fdf2' + 'fdf3' + '5ba0', 'hex')), 'AS_PATH with AS_TRANS');
  assert.ok(raw.includes(Buffer.from('c0110e' + '0203' + '0000fdf2' + '0000fdf3' + 'fa56ea09', 'hex')), 'AS4_PATH');
  assert.deepEqual(v4.attributes, {
    origin: 'igp',
    asPath: [{ type: 'sequence', asns: [65010, 65011, 4200000009] }],
    nextHop: '10.255.77.2',
    communities: ['65000:1'],
  });
  const v6 = updates.find((u) => u.attributes.mpReach)!;
  assert.deepEqual(v6.attributes.asPath, [{ type: 'sequence', asns: [65010, 65011, 4200000009] }]);
  // encoding the decoded UPDATE toward an old speaker gives back BIRD's AS_PATH and AS4_PATH bytes
  const back = encodeMessage(v4, ctx);
  assert.ok(back.includes(Buffer.from('4002080203fdf2fdf35ba0', 'hex')));
  assert.ok(back.includes(Buffer.from('c0110e02030000fdf20000fdf3fa56ea09', 'hex')));
  // and toward a 4-octet AS peer, a plain 4-byte AS_PATH without AS4_PATH
  const as4 = encodeMessage(v4, { ...ctx, as4: true });
  assert.ok(as4.includes(Buffer.from('40020e02030000fdf20000fdf3fa56ea09', 'hex')));
  assert.ok(!as4.includes(Buffer.from('c011', 'hex')));
});

test('FRR without zebra (no interface addresses): IPv6 NLRI with an IPv4-mapped next hop', () => {
  const fx = all.find((f) => f.router === 'frr' && f.variant === 'nozebra');
  assert.ok(fx, 'frr-*-nozebra.hex');
  const open = decodeMessage(fx.messages[0]!, DEFAULT_CONTEXT) as OpenMessage;
  const { ctx } = negotiate(CAPTURED_ROUTER_PEER, open);
  const v6 = fx.messages.map((b) => decodeMessage(b, ctx)).find((m): m is UpdateMessage => m.type === 'update' && !!m.attributes.mpReach)!;
  assert.deepEqual(v6.attributes.mpReach, { afi: 2, safi: 1, nextHops: ['::ffff:aff:4d02'], nlri: ['2001:db8::1/128'] });
});
