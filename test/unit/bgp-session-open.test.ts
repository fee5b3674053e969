// The one OPEN check and negotiation (src/bgp/session-open.ts), used by the session and by the
// router-capture tests: RFC 4271 §6.2 checks with their NOTIFICATION, and what two OPENs agree on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOpen, checkOpen, negotiate } from '../../src/bgp/session-open.js';
import { AS_TRANS, type OpenMessage } from '../../src/bgp/wire/index.js';
import { peerSpec } from './fixtures/bgp/loopback.js';

const PEER = peerSpec('10.0.0.2', 4200000000, { holdTime: 90, families: ['ipv4', 'ipv6'] });
const open = (o: Partial<OpenMessage>): OpenMessage => ({ type: 'open', version: 4, myAsn: AS_TRANS, holdTime: 90, bgpId: '10.0.0.2', capabilities: [{ type: 'as4', asn: 4200000000 }], ...o });

test('checkOpen: RFC 4271 §6.2 session checks with their NOTIFICATION', () => {
  const rows: Array<{ desc: string; open: OpenMessage; peer?: Partial<typeof PEER>; ibgp?: boolean; err?: [number, number] }> = [
    { desc: 'configured 4-byte peer', open: open({}) },
    { desc: 'wrong peer AS', open: open({}), peer: { asn: 65002 }, err: [2, 2] },
    { desc: '4-byte AS without AS_TRANS', open: open({ myAsn: 65003 }), err: [2, 2] },
    { desc: '2-byte peer without the capability', open: open({ myAsn: 65002, capabilities: [] }), peer: { asn: 65002 } },
    { desc: 'version 3', open: open({ version: 3 }), err: [2, 1] },
    { desc: 'identifier 0.0.0.0', open: open({ bgpId: '0.0.0.0' }), err: [2, 3] },
    { desc: 'internal peer with our identifier', open: open({ bgpId: '10.0.0.1' }), ibgp: true, err: [2, 3] },
    { desc: 'external peer with our identifier is allowed (RFC 6286)', open: open({ bgpId: '10.0.0.1' }) },
    { desc: 'hold time 2 is unacceptable', open: open({ holdTime: 2 }), err: [2, 6] },
    { desc: 'hold time 0 is acceptable', open: open({ holdTime: 0 }) },
  ];
  for (const r of rows) {
    const n = checkOpen(r.open, { ...PEER, ...r.peer }, '10.0.0.1', r.ibgp ?? false);
    if (!r.err) assert.equal(n, null, r.desc);
    else assert.deepEqual([n?.code, n?.subcode], r.err, r.desc);
  }
});

test('negotiate: 4-octet AS, extended messages, hold time, families, route refresh, graceful restart', () => {
  const peer = (caps: OpenMessage['capabilities'], holdTime = 180): OpenMessage => ({ type: 'open', version: 4, myAsn: 65002, holdTime, bgpId: '10.0.0.2', capabilities: caps });
  const rows: Array<{ desc: string; open: OpenMessage; want: Record<string, unknown> }> = [
    {
      desc: 'everything shared',
      open: peer([{ type: 'mp', afi: 2, safi: 1 }, { type: 'mp', afi: 1, safi: 1 }, { type: 'as4', asn: 65002 }, { type: 'extended-message' }, { type: 'route-refresh' }]),
      want: { as4: true, extendedMessage: true, maxLength: 65535, holdTime: 90, keepalive: 30, families: ['ipv4', 'ipv6'], routeRefresh: true, peerGracefulRestart: undefined },
    },
    { desc: 'old peer: no capabilities at all means IPv4 unicast only', open: peer([], 30), want: { as4: false, extendedMessage: false, maxLength: 4096, holdTime: 30, keepalive: 10, families: ['ipv4'], routeRefresh: false } },
    { desc: 'hold time 0 on one side disables keepalives', open: peer([{ type: 'as4', asn: 65002 }, { type: 'mp', afi: 2, safi: 1 }], 0), want: { as4: true, holdTime: 0, keepalive: 0, families: ['ipv6'] } },
    {
      desc: 'graceful restart of the peer is reported',
      open: peer([{ type: 'graceful-restart', restartTime: 120, restartState: true, families: [{ afi: 1, safi: 1, forwarding: true }] }]),
      want: { peerGracefulRestart: { restartTime: 120, restarting: true, families: ['ipv4'] } },
    },
  ];
  for (const r of rows) {
    const { negotiated, ctx } = negotiate(PEER, r.open);
    const got: Record<string, unknown> = { ...negotiated, as4: ctx.as4, extendedMessage: ctx.extendedMessage, maxLength: ctx.maxLength };
    for (const [k, v] of Object.entries(r.want)) assert.deepEqual(got[k], v, `${r.desc}: ${k}`);
    assert.deepEqual(
      ctx.families,
      negotiated.families.map((f) => ({ afi: f === 'ipv4' ? 1 : 2, safi: 1 })),
      `${r.desc}: the codec context carries the negotiated families`,
    );
  }
});

test('buildOpen: our OPEN passes our own check (a speaker talking to itself agrees)', () => {
  const mine = buildOpen({ peer: PEER, localAsn: 4200000000, routerId: '10.0.0.2', restartState: false, forwardingPreserved: false });
  assert.equal(checkOpen(mine, PEER, '10.0.0.1', false), null);
  assert.deepEqual(negotiate(PEER, mine).negotiated.families, ['ipv4', 'ipv6']);
});
