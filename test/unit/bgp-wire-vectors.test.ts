// BGP wire codec byte vectors: every message kind and path attribute as literal bytes with a comment per
// field, decoded to the typed message and encoded back to the same bytes; plus a round trip per kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeMessage,
  describeMessage,
  encodeMessage,
  asSequence,
  asSet,
  openMessage,
  shutdownNotification,
  parseShutdownCommunication,
  twoOctetAsExtendedCommunity,
  describeExtendedCommunity,
  routeRefreshMessage,
  notificationMessage,
  keepaliveMessage,
  updateMessage,
  type BgpMessage,
  type CodecContext,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';

/** Concatenate hex fields (spaces allowed). */
const hex = (...fields: string[]) => Buffer.from(fields.join('').replace(/\s+/g, ''), 'hex');
const MARKER = 'ffffffffffffffffffffffffffffffff';

const AS4: CodecContext = { as4: true, extendedMessage: false, maxLength: 4096 };
const AS2: CodecContext = { as4: false, extendedMessage: false, maxLength: 4096 };
const EXT: CodecContext = { as4: true, extendedMessage: true, maxLength: 65535 };

interface Vector {
  desc: string;
  ctx: CodecContext;
  bytes: Buffer;
  msg: BgpMessage;
}

const VECTORS: Vector[] = [
  {
    desc: 'KEEPALIVE',
    ctx: AS4,
    bytes: hex(
      MARKER, // marker
      '0013', // length 19
      '04', // type KEEPALIVE
    ),
    msg: { type: 'keepalive' },
  },
  {
    desc: 'OPEN, 2-byte AS, every capability edgelb sends',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '004a', // length 74
      '01', // type OPEN
      '04', // version 4
      'fde9', // my AS 65001
      '005a', // hold time 90
      'c0000201', // BGP identifier 192.0.2.1
      '2d', // optional parameters length 45
      '02', // parameter type 2: capabilities
      '2b', // parameter length 43
      '01 04 0001 00 01', // MP: AFI IPv4, reserved, SAFI unicast
      '01 04 0002 00 01', // MP: AFI IPv6, reserved, SAFI unicast
      '02 00', // route refresh
      '46 00', // enhanced route refresh (70)
      '06 00', // extended message (RFC 8654)
      '40 0a', // graceful restart (64), length 10
      '801e', //   R-bit set, restart time 30
      '0001 01 80', //   IPv4 unicast, F-bit
      '0002 01 00', //   IPv6 unicast, no F-bit
      '41 04 0000fde9', // 4-octet AS 65001
      '49 05 03666f6f00', // unknown capability 73 (hostname "foo"), kept as bytes
    ),
    msg: {
      type: 'open',
      version: 4,
      myAsn: 65001,
      holdTime: 90,
      bgpId: '192.0.2.1',
      capabilities: [
        { type: 'mp', afi: 1, safi: 1 },
        { type: 'mp', afi: 2, safi: 1 },
        { type: 'route-refresh' },
        { type: 'enhanced-route-refresh' },
        { type: 'extended-message' },
        {
          type: 'graceful-restart',
          restartTime: 30,
          restartState: true,
          families: [
            { afi: 1, safi: 1, forwarding: true },
            { afi: 2, safi: 1, forwarding: false },
          ],
        },
        { type: 'as4', asn: 65001 },
        { type: 'unknown', code: 73, value: hex('03666f6f00') },
      ],
    },
  },
  {
    desc: 'OPEN, 4-byte AS: AS_TRANS in My AS, the real AS in the capability',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0025', // length 37
      '01', // type OPEN
      '04', // version 4
      '5ba0', // my AS 23456 (AS_TRANS)
      '00b4', // hold time 180
      '0a000001', // BGP identifier 10.0.0.1
      '08', // optional parameters length 8
      '02 06', // capabilities parameter, length 6
      '41 04 fa56ea00', // 4-octet AS 4200000000
    ),
    msg: openMessage({ asn: 4200000000, holdTime: 180, bgpId: '10.0.0.1' }),
  },
  {
    desc: 'OPEN without optional parameters, hold time 0',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '001d', // length 29
      '01', // type OPEN
      '04', // version 4
      '0064', // my AS 100
      '0000', // hold time 0 (no keepalives)
      '01020304', // BGP identifier 1.2.3.4
      '00', // optional parameters length 0
    ),
    msg: { type: 'open', version: 4, myAsn: 100, holdTime: 0, bgpId: '1.2.3.4', capabilities: [] },
  },
  {
    desc: 'NOTIFICATION Cease/Administrative Shutdown with a shutdown communication (RFC 9003)',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0021', // length 33
      '03', // type NOTIFICATION
      '06', // code 6 Cease
      '02', // subcode 2 Administrative Shutdown
      '0b', // communication length 11
      '6d61696e74656e616e6365', // "maintenance"
    ),
    msg: shutdownNotification(2, 'maintenance'),
  },
  {
    desc: 'NOTIFICATION Hold Timer Expired, no data',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0015', // length 21
      '03', // type NOTIFICATION
      '04', // code 4 Hold Timer Expired
      '00', // subcode 0
    ),
    msg: notificationMessage(4, 0),
  },
  {
    desc: 'NOTIFICATION FSM error in OpenConfirm (RFC 6608)',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0015', // length 21
      '03', // type NOTIFICATION
      '05', // code 5 FSM error
      '02', // subcode 2: unexpected message in OpenConfirm
    ),
    msg: notificationMessage(5, 2),
  },
  {
    desc: 'ROUTE-REFRESH IPv4 unicast',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0017', // length 23
      '05', // type ROUTE-REFRESH
      '0001', // AFI IPv4
      '00', // subtype 0 (normal request)
      '01', // SAFI unicast
    ),
    msg: routeRefreshMessage(1, 1),
  },
  {
    desc: 'ROUTE-REFRESH IPv6 unicast, BoRR (RFC 7313)',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0017', // length 23
      '05', // type ROUTE-REFRESH
      '0002', // AFI IPv6
      '01', // subtype 1 BoRR
      '01', // SAFI unicast
    ),
    msg: routeRefreshMessage(2, 1, 1),
  },
  {
    desc: 'UPDATE IPv4: ORIGIN, 4-byte AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES, two NLRI',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0055', // length 85
      '02', // type UPDATE
      '0000', // withdrawn routes length 0
      '0035', // total path attribute length 53
      '40 01 01 00', // ORIGIN (well-known transitive), length 1: IGP
      '40 02 0e', // AS_PATH, length 14
      '02 03 0000fde9 fa56ea00 00000001', //   AS_SEQUENCE of 3: 65001 4200000000 1
      '40 03 04 c0000201', // NEXT_HOP, length 4: 192.0.2.1
      '80 04 04 00000064', // MULTI_EXIT_DISC (optional), length 4: 100
      '40 05 04 000000c8', // LOCAL_PREF, length 4: 200
      'c0 08 08 fde80001 ffffff01', // COMMUNITIES (optional transitive), length 8: 65000:1 NO_EXPORT
      '20 c0000264', // NLRI /32 192.0.2.100
      '18 c63364', // NLRI /24 198.51.100.0
    ),
    msg: updateMessage({
      attributes: {
        origin: 'igp',
        asPath: [asSequence(65001, 4200000000, 1)],
        nextHop: '192.0.2.1',
        med: 100,
        localPref: 200,
        communities: ['65000:1', '65535:65281'],
      },
      nlri: ['192.0.2.100/32', '198.51.100.0/24'],
    }),
  },
  {
    desc: 'UPDATE withdrawing IPv4 prefixes (no attributes)',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0020', // length 32
      '02', // type UPDATE
      '0009', // withdrawn routes length 9
      '20 c0000264', // /32 192.0.2.100
      '10 0a01', // /16 10.1.0.0
      '00', // /0 default
      '0000', // total path attribute length 0
    ),
    msg: updateMessage({ withdrawn: ['192.0.2.100/32', '10.1.0.0/16', '0.0.0.0/0'] }),
  },
  {
    desc: 'UPDATE 2-byte session: AS_SET, ATOMIC_AGGREGATE, 2-byte AGGREGATOR, ORIGIN incomplete',
    ctx: AS2,
    bytes: hex(
      MARKER,
      '0041', // length 65
      '02', // type UPDATE
      '0000', // withdrawn routes length 0
      '0026', // total path attribute length 38
      '40 01 01 02', // ORIGIN: INCOMPLETE
      '40 02 0c', // AS_PATH, length 12
      '02 02 fde9 fdea', //   AS_SEQUENCE 65001 65002
      '01 02 0064 00c8', //   AS_SET {100 200}
      '40 03 04 c6336401', // NEXT_HOP 198.51.100.1
      '40 06 00', // ATOMIC_AGGREGATE, length 0
      'c0 07 06 fde9 c0000201', // AGGREGATOR, length 6: AS 65001, 192.0.2.1
      '14 0a0000', // NLRI /20 10.0.0.0
    ),
    msg: updateMessage({
      attributes: {
        origin: 'incomplete',
        asPath: [asSequence(65001, 65002), asSet(100, 200)],
        nextHop: '198.51.100.1',
        atomicAggregate: true,
        aggregator: { asn: 65001, address: '192.0.2.1' },
      },
      nlri: ['10.0.0.0/20'],
    }),
  },
  {
    desc: 'UPDATE toward an old speaker (RFC 6793): AS_TRANS in AS_PATH/AGGREGATOR, real values in AS4_PATH/AS4_AGGREGATOR',
    ctx: AS2,
    bytes: hex(
      MARKER,
      '0051', // length 81
      '02', // type UPDATE
      '0000', // withdrawn routes length 0
      '0035', // total path attribute length 53
      '40 01 01 00', // ORIGIN IGP
      '40 02 06 02 02 fde9 5ba0', // AS_PATH: AS_SEQUENCE 65001 23456 (AS_TRANS for 4200000000)
      '40 03 04 c0000201', // NEXT_HOP 192.0.2.1
      'c0 07 06 5ba0 c0000201', // AGGREGATOR: AS_TRANS, 192.0.2.1
      'c0 11 0a 02 02 0000fde9 fa56ea00', // AS4_PATH (17), length 10: AS_SEQUENCE 65001 4200000000
      'c0 12 08 fa56ea00 c0000201', // AS4_AGGREGATOR (18), length 8: 4200000000, 192.0.2.1
      '20 c0000264', // NLRI 192.0.2.100/32
    ),
    msg: updateMessage({
      attributes: {
        origin: 'igp',
        asPath: [asSequence(65001, 4200000000)],
        nextHop: '192.0.2.1',
        aggregator: { asn: 4200000000, address: '192.0.2.1' },
      },
      nlri: ['192.0.2.100/32'],
    }),
  },
  {
    desc: 'UPDATE IPv6: MP_REACH first with global + link-local next hop, EXTENDED_COMMUNITIES, LARGE_COMMUNITY',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '008a', // length 138
      '02', // type UPDATE
      '0000', // withdrawn routes length 0
      '0073', // total path attribute length 115
      '80 0e 3d', // MP_REACH_NLRI (optional), length 61
      '0002 01', //   AFI IPv6, SAFI unicast
      '20', //   next hop length 32
      '20010db8000000000000000000000001', //   global 2001:db8::1
      'fe800000000000000000000000000001', //   link-local fe80::1
      '00', //   reserved
      '80 20010db8000000000000000000000064', //   /128 2001:db8::64
      '30 20010db80001', //   /48 2001:db8:1::
      '40 01 01 00', // ORIGIN IGP
      '40 02 06 02 01 0000fde9', // AS_PATH: AS_SEQUENCE 65001
      'c0 10 08 0002fde800000064', // EXTENDED_COMMUNITIES, length 8: route target 65000:100
      'c0 20 18', // LARGE_COMMUNITY (32), length 24
      'fa56ea00 00000001 00000002', //   4200000000:1:2
      '0000fde9 00000000 ffffffff', //   65001:0:4294967295
    ),
    msg: updateMessage({
      attributes: {
        mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: ['2001:db8::64/128', '2001:db8:1::/48'] },
        origin: 'igp',
        asPath: [asSequence(65001)],
        extendedCommunities: [twoOctetAsExtendedCommunity('rt', 65000, 100)],
        largeCommunities: ['4200000000:1:2', '65001:0:4294967295'],
      },
    }),
  },
  {
    desc: 'UPDATE IPv6 withdrawal: MP_UNREACH_NLRI only',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '002e', // length 46
      '02', // type UPDATE
      '0000', // withdrawn routes length 0
      '0017', // total path attribute length 23
      '80 0f 14', // MP_UNREACH_NLRI (optional), length 20
      '0002 01', //   AFI IPv6, SAFI unicast
      '80 20010db8000000000000000000000064', //   /128 2001:db8::64
    ),
    msg: updateMessage({ attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8::64/128'] } } }),
  },
  {
    desc: 'End-of-RIB IPv4 unicast: an empty UPDATE',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0017', // length 23
      '02', // type UPDATE
      '0000', // withdrawn routes length 0
      '0000', // total path attribute length 0
    ),
    msg: updateMessage({}),
  },
  {
    desc: 'End-of-RIB IPv6 unicast: an empty MP_UNREACH_NLRI',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '001d', // length 29
      '02', // type UPDATE
      '0000', // withdrawn routes length 0
      '0006', // total path attribute length 6
      '80 0f 03 0002 01', // MP_UNREACH_NLRI, length 3: AFI IPv6, SAFI unicast, nothing withdrawn
    ),
    msg: updateMessage({ attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [] } } }),
  },
  {
    desc: 'UPDATE with an unknown optional transitive attribute, passed on with the Partial bit',
    ctx: AS4,
    bytes: hex(
      MARKER,
      '0036', // length 54
      '02', // type UPDATE
      '0000', // withdrawn routes length 0
      '001a', // total path attribute length 26
      '40 01 01 00', // ORIGIN IGP
      '40 02 06 02 01 0000fde9', // AS_PATH 65001
      '40 03 04 c0000201', // NEXT_HOP 192.0.2.1
      'e0 63 03 010203', // type 99, flags optional+transitive+partial, length 3
      '20 c0000264', // NLRI 192.0.2.100/32
    ),
    msg: updateMessage({
      attributes: {
        origin: 'igp',
        asPath: [asSequence(65001)],
        nextHop: '192.0.2.1',
        unknown: [{ flags: 0xe0, typeCode: 99, value: hex('010203') }],
      },
      nlri: ['192.0.2.100/32'],
    }),
  },
];

for (const v of VECTORS) {
  test(`vector: ${v.desc}`, () => {
    assert.equal(v.bytes.readUInt16BE(16), v.bytes.length, 'the vector\'s own length field');
    assert.deepEqual(decodeMessage(v.bytes, v.ctx), v.msg);
    assert.deepEqual(encodeMessage(v.msg, v.ctx).toString('hex'), v.bytes.toString('hex'));
    assert.ok(describeMessage(v.msg).length > 0);
  });
}

test('every message kind has a vector', () => {
  assert.deepEqual([...new Set(VECTORS.map((v) => v.msg.type))].sort(), ['keepalive', 'notification', 'open', 'route-refresh', 'update']);
});

test('round trip of one message of each kind, in each context', () => {
  const msgs: BgpMessage[] = [
    keepaliveMessage(),
    openMessage({ asn: 4200000000, holdTime: 90, bgpId: '10.1.2.3', capabilities: [{ type: 'mp', afi: 2, safi: 1 }] }),
    notificationMessage(6, 4, Buffer.from([3, 0x61, 0x62, 0x63])),
    routeRefreshMessage(2, 1, 2),
    updateMessage({
      withdrawn: ['10.9.0.0/16'],
      attributes: { origin: 'egp', asPath: [asSequence(4200000000, 65001), asSet(7, 4200000001)], nextHop: '10.0.0.1', med: 0, largeCommunities: ['1:2:3'] },
      nlri: ['10.10.10.10/32'],
    }),
  ];
  for (const ctx of [AS4, AS2, EXT]) for (const m of msgs) assert.deepEqual(decodeMessage(encodeMessage(m, ctx), ctx), m, `${describeMessage(m)} in ${JSON.stringify(ctx)}`);
});

test('an unknown optional transitive attribute received without Partial is passed on with it; non-transitive is dropped', () => {
  const received = hex(
    MARKER,
    '0038', // length 56
    '02', // type UPDATE
    '0000', // withdrawn routes length 0
    '001c', // total path attribute length 28
    '40 01 01 00', // ORIGIN IGP
    '40 02 06 02 01 0000fde9', // AS_PATH 65001
    '40 03 04 c0000201', // NEXT_HOP 192.0.2.1
    'c0 63 01 aa', // type 99, optional transitive, length 1
    '80 64 01 bb', // type 100, optional non-transitive, length 1
    '20 c0000264', // NLRI 192.0.2.100/32
  );
  const u = decodeMessage(received, AS4) as UpdateMessage;
  assert.deepEqual(u.attributes.unknown, [
    { flags: 0xc0, typeCode: 99, value: hex('aa') },
    { flags: 0x80, typeCode: 100, value: hex('bb') },
  ]);
  const sent = encodeMessage(u, AS4);
  assert.ok(sent.includes(hex('e0 63 01 aa')), 'Partial bit set');
  assert.ok(!sent.includes(hex('64 01 bb')), 'non-transitive not passed on');
});

test('attributes longer than 255 bytes use the Extended Length flag', () => {
  const asns = Array.from({ length: 100 }, (_, i) => 4200000000 + i);
  const m = updateMessage({ attributes: { origin: 'igp', asPath: [asSequence(...asns)], nextHop: '192.0.2.1' }, nlri: ['192.0.2.0/24'] });
  const b = encodeMessage(m, AS4);
  // AS_PATH: flags 0x50 (transitive + extended length), type 2, 2-byte length 402, AS_SEQUENCE of 100
  assert.ok(b.includes(hex('50 02 0192 02 64 fa56ea00 fa56ea01')), b.toString('hex').slice(0, 120));
  assert.deepEqual(decodeMessage(b, AS4), m);
  // and a segment longer than 255 ASes is split into several segments
  const long = updateMessage({ attributes: { origin: 'igp', asPath: [asSequence(...Array.from({ length: 300 }, (_, i) => i + 1))], nextHop: '192.0.2.1' }, nlri: ['192.0.2.0/24'] });
  const back = decodeMessage(encodeMessage(long, AS4), AS4) as UpdateMessage;
  assert.deepEqual(back.attributes.asPath?.map((s) => s.asns.length), [255, 45]);
});

test('extended community text forms', () => {
  const rows: Array<[string, Buffer, string]> = [
    ['route target, 2-byte AS', twoOctetAsExtendedCommunity('rt', 65000, 100), 'rt:65000:100'],
    ['route origin, 2-byte AS', twoOctetAsExtendedCommunity('soo', 65000, 7), 'soo:65000:7'],
    ['route target, IPv4 address', hex('0102 c0000201 0005'), 'rt:192.0.2.1:5'],
    ['route target, 4-byte AS', hex('0202 fa56ea00 0001'), 'rt4:4200000000:1'],
    ['something else', hex('0304 0000000000aa'), 'ext:03040000000000aa'],
  ];
  for (const [desc, b, want] of rows) assert.equal(describeExtendedCommunity(b), want, desc);
});

test('shutdown communication: parsed, cut at 255 bytes on a character boundary, absent when malformed', () => {
  assert.equal(parseShutdownCommunication(shutdownNotification(2, 'maintenance')), 'maintenance');
  const long = shutdownNotification(4, 'é'.repeat(200)); // 400 bytes of UTF-8
  assert.equal(long.data[0], 254);
  assert.equal(parseShutdownCommunication(long), 'é'.repeat(127));
  assert.equal(parseShutdownCommunication(notificationMessage(6, 2, hex('05 6162'))), undefined, 'length byte disagrees');
  assert.equal(parseShutdownCommunication(notificationMessage(6, 3, hex('02 6162'))), undefined, 'not a shutdown subcode');
  assert.match(describeMessage(shutdownNotification(2, 'bye')), /NOTIFICATION cease\/administrative-shutdown \(6\/2\) "bye"/);
});

test('describeMessage gives one readable line per kind', () => {
  const rows: Array<[BgpMessage, RegExp]> = [
    [keepaliveMessage(), /^KEEPALIVE$/],
    [openMessage({ asn: 4200000000, holdTime: 90, bgpId: '10.0.0.1' }), /^OPEN v4 as 4200000000 hold 90 id 10\.0\.0\.1 caps \[as4\(4200000000\)\]$/],
    [notificationMessage(3, 11), /^NOTIFICATION update-message\/malformed-as-path \(3\/11\)$/],
    [routeRefreshMessage(2, 1, 2), /^ROUTE-REFRESH ipv6\/unicast EoRR$/],
    [updateMessage({}), /^UPDATE \(end-of-rib ipv4\/unicast\)$/],
    [
      updateMessage({ attributes: { origin: 'igp', asPath: [asSequence(1, 2), asSet(3)], nextHop: '10.0.0.1', communities: ['1:2'] }, nlri: ['10.0.0.0/8'] }),
      /^UPDATE origin igp as-path 1 2 \{3\} next-hop 10\.0\.0\.1 communities 1:2 nlri \[10\.0\.0\.0\/8\]$/,
    ],
  ];
  for (const [m, re] of rows) assert.match(describeMessage(m), re);
});

test('OPEN with RFC 9072 extended optional parameters decodes like the classic form', () => {
  const b = hex(
    MARKER,
    '0027', // length 39
    '01', // type OPEN
    '04', // version 4
    'fde9', // my AS 65001
    '005a', // hold time 90
    'c0000201', // BGP identifier 192.0.2.1
    'ff', // non-extended optional parameters length 255: look for the marker
    'ff', // extended parameters marker (type 255)
    '0007', // extended optional parameters length 7
    '02', // parameter type 2: capabilities
    '0004', // parameter length 4 (2 bytes in the extended form)
    '02 00', // route refresh
    '06 00', // extended message
  );
  assert.deepEqual(decodeMessage(b, AS4), {
    type: 'open',
    version: 4,
    myAsn: 65001,
    holdTime: 90,
    bgpId: '192.0.2.1',
    capabilities: [{ type: 'route-refresh' }, { type: 'extended-message' }],
  });
});
