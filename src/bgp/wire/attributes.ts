// Path attributes, table-driven (after BIRD's bgp_attr_table): one row per type code with its flags,
// decoder, encoder and RFC 7606 handling when malformed; plus the list decoder/encoder around the rows.
import { EdgelbError } from '../../lib/errors.js';
import { familyOf } from '../../lib/addr.js';
import { ATTR_TYPE_NAMES, AttrFlag, AttrType, ErrorCode, UpdateSubcode, familyName } from './constants.js';
import { BgpDecodeError, strongerHandling } from './errors.js';
import { BgpReader } from './reader.js';
import { BgpWriter } from './writer.js';
import { as4PathOf, describeAsPath, needsAs4, readAsPath, writeAsPath } from './attr-aspath.js';
import {
  communityString,
  describeExtendedCommunity,
  writeCommunities,
  writeExtendedCommunities,
  writeLargeCommunities,
} from './attr-communities.js';
import { prefixFamily, readMpReach, readMpUnreach, writeMpReach, writeMpUnreach } from './attr-mp.js';
import { ipv4Number, ipv4String } from './ipv4.js';
import type { CodecContext, Handling, Origin, PathAttributes } from './types.js';

const O = AttrFlag.OPTIONAL;
const T = AttrFlag.TRANSITIVE;
const ORIGINS: Origin[] = ['igp', 'egp', 'incomplete'];

/** What a row's decoder gets. */
interface DecodeInput {
  /** Reader over the attribute value; a short read is an Attribute Length Error with the row's handling. */
  r: BgpReader;
  value: Buffer;
  flags: number;
  ctx: CodecContext;
  attrs: PathAttributes;
  /** An error about this attribute (data: the whole attribute), with the row's handling unless given. */
  fail(subcode: number, detail: string, handling?: Handling): BgpDecodeError;
}

interface AttrRow {
  code: number;
  /** Expected Optional and Transitive bits. */
  flags: number;
  /** RFC 7606 handling of a malformed attribute of this type. */
  malformed: Handling;
  /** The PathAttributes fields this row fills (cleared again on attribute-discard). */
  fields: (keyof PathAttributes)[];
  decode(d: DecodeInput): void;
  /** Value bytes to send, or undefined when the attribute is absent. */
  encode(a: PathAttributes, ctx: CodecContext): Buffer | undefined;
  describe?(a: PathAttributes): string | undefined;
}

function exactLength(d: DecodeInput, n: number): void {
  if (d.value.length !== n) throw d.fail(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${d.value.length}, want ${n}`);
}
function multipleOf(d: DecodeInput, n: number): void {
  if (d.value.length === 0 || d.value.length % n !== 0) throw d.fail(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${d.value.length} is not a non-zero multiple of ${n}`);
}
function build(fn: (w: BgpWriter) => void): Buffer {
  const w = new BgpWriter(64);
  fn(w);
  return w.toBuffer();
}
function u32(v: number | undefined, what: string): Buffer | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `${what} ${v} must be 0..4294967295`);
  return build((w) => w.u32(v));
}
function ipv4Only(ip: string, what: string): number {
  if (familyOf(ip) !== 4) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `${what} ${JSON.stringify(ip)} must be an IPv4 address`);
  return ipv4Number(ip);
}

export const ATTRIBUTE_TABLE: readonly AttrRow[] = [
  {
    code: AttrType.ORIGIN,
    flags: T,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.1
    fields: ['origin'],
    decode(d) {
      exactLength(d, 1);
      const v = d.r.u8();
      const o = ORIGINS[v];
      if (!o) throw d.fail(UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE, `origin ${v}`);
      d.attrs.origin = o;
    },
    encode: (a) => (a.origin === undefined ? undefined : Buffer.from([ORIGINS.indexOf(a.origin)])),
    describe: (a) => a.origin && `origin ${a.origin}`,
  },
  {
    code: AttrType.AS_PATH,
    flags: T,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.2
    fields: ['asPath'],
    decode(d) {
      const p = readAsPath(d.r, d.ctx.as4 ? 4 : 2);
      if (typeof p === 'string') throw d.fail(UpdateSubcode.MALFORMED_AS_PATH, p);
      d.attrs.asPath = p;
    },
    encode: (a, ctx) => a.asPath && build((w) => writeAsPath(w, a.asPath!, ctx.as4 ? 4 : 2)),
    describe: (a) => a.asPath && `as-path ${describeAsPath(a.asPath)}`,
  },
  {
    code: AttrType.NEXT_HOP,
    flags: T,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.3
    fields: ['nextHop'],
    decode(d) {
      exactLength(d, 4);
      const v = d.r.u32();
      // 0.0.0.0, class D/E and the broadcast address are never a usable next hop
      if (v === 0 || v >>> 28 >= 0xe) throw d.fail(UpdateSubcode.INVALID_NEXT_HOP_ATTRIBUTE, `next hop ${ipv4String(v)}`);
      d.attrs.nextHop = ipv4String(v);
    },
    encode: (a) => a.nextHop === undefined ? undefined : build((w) => w.u32(ipv4Only(a.nextHop!, 'NEXT_HOP'))),
    describe: (a) => a.nextHop && `next-hop ${a.nextHop}`,
  },
  {
    code: AttrType.MULTI_EXIT_DISC,
    flags: O,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.4
    fields: ['med'],
    decode(d) {
      exactLength(d, 4);
      d.attrs.med = d.r.u32();
    },
    encode: (a) => u32(a.med, 'MED'),
    describe: (a) => (a.med === undefined ? undefined : `med ${a.med}`),
  },
  {
    code: AttrType.LOCAL_PREF,
    flags: T,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.5 (an eBGP session discards it: the session's call)
    fields: ['localPref'],
    decode(d) {
      exactLength(d, 4);
      d.attrs.localPref = d.r.u32();
    },
    encode: (a) => u32(a.localPref, 'LOCAL_PREF'),
    describe: (a) => (a.localPref === undefined ? undefined : `local-pref ${a.localPref}`),
  },
  {
    code: AttrType.ATOMIC_AGGREGATE,
    flags: T,
    malformed: 'attribute-discard', // RFC 7606 §7.6
    fields: ['atomicAggregate'],
    decode(d) {
      exactLength(d, 0);
      d.attrs.atomicAggregate = true;
    },
    encode: (a) => (a.atomicAggregate ? Buffer.alloc(0) : undefined),
    describe: (a) => (a.atomicAggregate ? 'atomic-aggregate' : undefined),
  },
  {
    code: AttrType.AGGREGATOR,
    flags: O | T,
    malformed: 'attribute-discard', // RFC 7606 §7.7
    fields: ['aggregator'],
    decode(d) {
      exactLength(d, d.ctx.as4 ? 8 : 6);
      const asn = d.ctx.as4 ? d.r.u32() : d.r.u16();
      if (asn === 0) throw d.fail(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, 'AS 0 (RFC 7607)');
      d.attrs.aggregator = { asn, address: ipv4String(d.r.u32()) };
    },
    encode: (a, ctx) =>
      a.aggregator &&
      build((w) => {
        const { asn, address } = a.aggregator!;
        if (ctx.as4) w.u32(asn);
        else w.u16(asn > 0xffff ? 23456 : asn);
        w.u32(ipv4Only(address, 'AGGREGATOR address'));
      }),
    describe: (a) => a.aggregator && `aggregator ${a.aggregator.asn} ${a.aggregator.address}`,
  },
  {
    code: AttrType.COMMUNITIES,
    flags: O | T,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.8
    fields: ['communities'],
    decode(d) {
      multipleOf(d, 4);
      const out: string[] = [];
      while (!d.r.atEnd) out.push(communityString(d.r.u32()));
      d.attrs.communities = out;
    },
    encode: (a) => (a.communities?.length ? build((w) => writeCommunities(w, a.communities!)) : undefined),
    describe: (a) => a.communities && `communities ${a.communities.join(' ')}`,
  },
  {
    code: AttrType.MP_REACH_NLRI,
    flags: O,
    malformed: 'session-reset', // RFC 7606 §5.3, §7.11: unparseable NLRI resets; a bad next hop withdraws
    fields: ['mpReach'],
    decode(d) {
      const afi = d.r.u16();
      const safi = d.r.u8();
      notNegotiated(d, afi, safi);
      if (!prefixFamily(afi, safi)) return keepRaw(d, AttrType.MP_REACH_NLRI);
      const res = readMpReach(d.r, afi, safi, (x) => d.fail(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, x), d.ctx.extendedNextHop ?? false);
      d.attrs.mpReach = res.value;
      if (!res.ok) throw d.fail(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, res.detail, 'treat-as-withdraw');
    },
    encode: (a) => a.mpReach && build((w) => writeMpReach(w, a.mpReach!)),
    describe: (a) =>
      a.mpReach && `mp-reach ${familyName(a.mpReach.afi, a.mpReach.safi)} next-hop ${a.mpReach.nextHops.join(',')} nlri ${describePrefixes(a.mpReach.nlri)}`,
  },
  {
    code: AttrType.MP_UNREACH_NLRI,
    flags: O,
    malformed: 'session-reset',
    fields: ['mpUnreach'],
    decode(d) {
      const afi = d.r.u16();
      const safi = d.r.u8();
      notNegotiated(d, afi, safi);
      if (!prefixFamily(afi, safi)) {
        if (d.r.atEnd) d.attrs.mpUnreach = { afi, safi, withdrawn: [] }; // End-of-RIB of another family
        else keepRaw(d, AttrType.MP_UNREACH_NLRI);
        return;
      }
      d.attrs.mpUnreach = readMpUnreach(d.r, afi, safi, (x) => d.fail(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, x));
    },
    encode: (a) => a.mpUnreach && build((w) => writeMpUnreach(w, a.mpUnreach!)),
    describe: (a) => a.mpUnreach && `mp-unreach ${familyName(a.mpUnreach.afi, a.mpUnreach.safi)} ${describePrefixes(a.mpUnreach.withdrawn)}`,
  },
  {
    code: AttrType.EXTENDED_COMMUNITIES,
    flags: O | T,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.14
    fields: ['extendedCommunities'],
    decode(d) {
      multipleOf(d, 8);
      const out: Buffer[] = [];
      while (!d.r.atEnd) out.push(Buffer.from(d.r.bytes(8)));
      d.attrs.extendedCommunities = out;
    },
    encode: (a) => (a.extendedCommunities?.length ? build((w) => writeExtendedCommunities(w, a.extendedCommunities!)) : undefined),
    describe: (a) => a.extendedCommunities && `ext-communities ${a.extendedCommunities.map(describeExtendedCommunity).join(' ')}`,
  },
  {
    code: AttrType.AS4_PATH,
    flags: O | T,
    malformed: 'attribute-discard', // RFC 6793 §6, RFC 7606 §7.2
    fields: ['as4Path'],
    decode(d) {
      if (d.ctx.as4) return; // RFC 6793 §4.1: a NEW speaker ignores AS4_PATH from a NEW speaker
      const p = readAsPath(d.r, 4);
      if (typeof p === 'string') throw d.fail(UpdateSubcode.MALFORMED_AS_PATH, p);
      if (p.some((s) => s.type !== 'sequence' && s.type !== 'set')) throw d.fail(UpdateSubcode.MALFORMED_AS_PATH, 'confederation segment in AS4_PATH');
      d.attrs.as4Path = p;
    },
    // derived from asPath toward a peer without 4-octet AS support, and only when needed
    encode: (a, ctx) => (!ctx.as4 && a.asPath && needsAs4(a.asPath) ? build((w) => writeAsPath(w, as4PathOf(a.asPath!), 4)) : undefined),
  },
  {
    code: AttrType.AS4_AGGREGATOR,
    flags: O | T,
    malformed: 'attribute-discard', // RFC 6793 §6
    fields: ['as4Aggregator'],
    decode(d) {
      if (d.ctx.as4) return;
      exactLength(d, 8);
      const asn = d.r.u32();
      if (asn === 0) throw d.fail(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, 'AS 0 (RFC 7607)');
      d.attrs.as4Aggregator = { asn, address: ipv4String(d.r.u32()) };
    },
    encode: (a, ctx) =>
      !ctx.as4 && a.aggregator && a.aggregator.asn > 0xffff
        ? build((w) => w.u32(a.aggregator!.asn).u32(ipv4Only(a.aggregator!.address, 'AGGREGATOR address')))
        : undefined,
  },
  {
    code: AttrType.LARGE_COMMUNITY,
    flags: O | T,
    malformed: 'treat-as-withdraw', // RFC 8092 §6
    fields: ['largeCommunities'],
    decode(d) {
      multipleOf(d, 12);
      const out: string[] = [];
      while (!d.r.atEnd) out.push(`${d.r.u32()}:${d.r.u32()}:${d.r.u32()}`);
      d.attrs.largeCommunities = out;
    },
    encode: (a) => (a.largeCommunities?.length ? build((w) => writeLargeCommunities(w, a.largeCommunities!)) : undefined),
    describe: (a) => a.largeCommunities && `large-communities ${a.largeCommunities.join(' ')}`,
  },
];

const ROW_BY_CODE = new Map(ATTRIBUTE_TABLE.map((r) => [r.code, r]));

/**
 * An MP attribute of a family the session did not negotiate (ctx.families set) is discarded, with
 * its NLRI neither learned nor withdrawn (RFC 4760 §7: may be treated as an error; discarding keeps
 * the session that carries our VIPs). An empty MP_UNREACH (End-of-RIB) is discarded silently too.
 */
function notNegotiated(d: DecodeInput, afi: number, safi: number): void {
  const fams = d.ctx.families;
  if (!fams || fams.some((f) => f.afi === afi && f.safi === safi)) return;
  throw d.fail(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `family ${familyName(afi, safi)} was not negotiated`, 'attribute-discard');
}

/** An MP attribute of a family we do not decode is kept as raw bytes (it is optional non-transitive). */
function keepRaw(d: DecodeInput, typeCode: number): void {
  (d.attrs.unknown ??= []).push({ flags: d.flags & 0xe0, typeCode, value: Buffer.from(d.value) });
}

function describePrefixes(list: readonly string[]): string {
  return list.length <= 4 ? `[${list.join(' ')}]` : `[${list.slice(0, 3).join(' ')} … ${list.length} prefixes]`;
}

export interface AttributesResult {
  attrs: PathAttributes;
  /** Recovered errors, in order. */
  errors: BgpDecodeError[];
  /** Strongest handling among `errors`, if any. */
  handling: Handling | undefined;
  /** Type codes met (first occurrence decoded), to tell "missing" from "malformed". */
  seen: Set<number>;
}

/**
 * Decode the path attribute field. Session-reset errors throw; others are collected (RFC 7606): a
 * malformed attribute is discarded or makes the UPDATE treat-as-withdraw, and decoding goes on.
 */
export function decodeAttributes(buf: Buffer, ctx: CodecContext): AttributesResult {
  const attrs: PathAttributes = {};
  const errors: BgpDecodeError[] = [];
  const seen = new Set<number>();
  let handling: Handling | undefined;
  let mpSeen = false;
  const note = (e: BgpDecodeError) => {
    errors.push(e);
    handling = handling ? strongerHandling(handling, e.handling) : e.handling;
  };
  // RFC 7606 §4: an attribute list we cannot walk withdraws, unless an MP attribute was already met
  const listError = (detail: string) => {
    const e = new BgpDecodeError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, Buffer.alloc(0), mpSeen ? 'session-reset' : 'treat-as-withdraw', detail);
    if (e.handling === 'session-reset') throw e;
    note(e);
  };
  const r = new BgpReader(buf, (d) => new BgpDecodeError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, Buffer.alloc(0), 'session-reset', d));
  while (!r.atEnd) {
    const start = r.offset;
    if (r.remaining < 3) {
      listError(`truncated attribute header (${r.remaining} bytes)`);
      break;
    }
    const flags = r.u8();
    const code = r.u8();
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    if (ext && r.remaining < 2) {
      listError('truncated extended attribute length');
      break;
    }
    const len = ext ? r.u16() : r.u8();
    if (len > r.remaining) {
      listError(`attribute ${code} length ${len} overruns the attribute field (${r.remaining} left)`);
      break;
    }
    const value = r.bytes(len);
    const whole = buf.subarray(start, r.offset);
    const isMp = code === AttrType.MP_REACH_NLRI || code === AttrType.MP_UNREACH_NLRI;
    if (isMp) mpSeen = true;
    if (seen.has(code)) {
      // RFC 7606 §3 (g): a repeated MP attribute resets, any other repeat is discarded
      const e = new BgpDecodeError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, Buffer.alloc(0), isMp ? 'session-reset' : 'attribute-discard', `attribute ${code} repeated`, code);
      if (isMp) throw e;
      note(e);
      continue;
    }
    seen.add(code);
    const row = ROW_BY_CODE.get(code);
    if (!row) {
      if (!(flags & AttrFlag.OPTIONAL))
        throw new BgpDecodeError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, whole, 'session-reset', `well-known attribute ${code}`, code);
      (attrs.unknown ??= []).push({ flags: flags & 0xe0, typeCode: code, value: Buffer.from(value) });
      continue;
    }
    const name = ATTR_TYPE_NAMES.get(code) ?? String(code);
    const fail = (subcode: number, detail: string, h: Handling = row.malformed) =>
      new BgpDecodeError(ErrorCode.UPDATE_MESSAGE, subcode, whole, h, `${name}: ${detail}`, code);
    try {
      // RFC 7606 §3 (c): Optional/Transitive bits in conflict make the attribute malformed
      if ((flags & (O | T)) !== row.flags) throw fail(UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, `flags 0x${flags.toString(16)}`);
      const shortSub = isMp ? UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR : UpdateSubcode.ATTRIBUTE_LENGTH_ERROR;
      const vr = new BgpReader(value, (d) => fail(shortSub, d));
      row.decode({ r: vr, value, flags, ctx, attrs, fail });
    } catch (e) {
      if (!(e instanceof BgpDecodeError) || e.handling === 'session-reset') throw e;
      if (e.handling === 'attribute-discard') for (const f of row.fields) delete attrs[f];
      note(e);
    }
  }
  return { attrs, errors, handling, seen };
}

/**
 * Encode the path attribute field: MP_UNREACH and MP_REACH first (RFC 7606 §5.1), then by type code.
 * Unknown optional transitive attributes go out with the Partial bit; unknown non-transitive ones are dropped.
 */
export function encodeAttributes(w: BgpWriter, a: PathAttributes, ctx: CodecContext): void {
  const out: { code: number; flags: number; value: Buffer }[] = [];
  for (const row of ATTRIBUTE_TABLE) {
    const value = row.encode(a, ctx);
    if (value !== undefined) out.push({ code: row.code, flags: row.flags, value });
  }
  for (const u of a.unknown ?? []) {
    if (!(u.flags & O) || !(u.flags & T) || ROW_BY_CODE.has(u.typeCode)) continue;
    out.push({ code: u.typeCode, flags: (u.flags & 0xe0) | AttrFlag.PARTIAL, value: u.value });
  }
  const rank = (c: number) => (c === AttrType.MP_UNREACH_NLRI ? -2 : c === AttrType.MP_REACH_NLRI ? -1 : c);
  out.sort((x, y) => rank(x.code) - rank(y.code));
  for (const x of out) writeAttribute(w, x.flags, x.code, x.value);
}

export function writeAttribute(w: BgpWriter, flags: number, code: number, value: Uint8Array): void {
  if (value.length > 0xffff) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `attribute ${code} is ${value.length} bytes (max 65535)`);
  if (value.length > 255) w.u8(flags | AttrFlag.EXTENDED_LENGTH).u8(code).u16(value.length);
  else w.u8(flags & ~AttrFlag.EXTENDED_LENGTH).u8(code).u8(value.length);
  w.bytes(value);
}

export function describeAttributes(a: PathAttributes): string {
  const parts: string[] = [];
  for (const row of ATTRIBUTE_TABLE) {
    const s = row.describe?.(a);
    if (s) parts.push(s);
  }
  for (const u of a.unknown ?? []) parts.push(`attr${u.typeCode}(0x${u.flags.toString(16)}) ${u.value.toString('hex')}`);
  return parts.join(' ');
}

