// packUpdates: many prefixes sharing the same attributes into as few UPDATEs as fit the negotiated size.
import { EdgelbError } from '../../lib/errors.js';
import { familyOf } from '../../lib/addr.js';
import { Afi, AttrFlag, AttrType, HEADER_LENGTH, MessageType, Safi } from './constants.js';
import { encodeAttributes, writeAttribute } from './attributes.js';
import { writeHeader } from './header.js';
import { nextHopBytes } from './attr-mp.js';
import { encodePrefixList, type IpFamily } from './prefix.js';
import { BgpWriter } from './writer.js';
import type { CodecContext, PathAttributes } from './types.js';

/** Header (19) + withdrawn length (2) + attribute length (2). */
const UPDATE_OVERHEAD = HEADER_LENGTH + 4;
/** An MP attribute header with a 2-byte length (flags, type, length). */
const MP_ATTR_HEADER = 4;

/**
 * Encode withdrawals and announcements of one family into complete UPDATE messages, each at most
 * ctx.maxLength bytes. Withdrawals come first (attribute-less UPDATEs for IPv4, MP_UNREACH for IPv6),
 * then announcements sharing `attrs`. IPv4 uses the classic NLRI/withdrawn fields and attrs.nextHop;
 * IPv6 uses MP_REACH/MP_UNREACH with next hops from attrs.mpReach.nextHops or an IPv6 attrs.nextHop.
 * Any mpReach/mpUnreach NLRI in `attrs` are ignored.
 */
export function packUpdates(attrs: PathAttributes, nlri: readonly string[], withdrawn: readonly string[], ctx: CodecContext, family: IpFamily): Buffer[] {
  try {
    return pack(attrs, nlri, withdrawn, ctx, family);
  } catch (e) {
    if (e instanceof EdgelbError) throw e;
    throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `cannot pack UPDATEs: ${(e as Error).message}`, { cause: e });
  }
}

/** Prefixes in wire form back to back (encodePrefixList's shape): prefix i ends at ends[i] in bytes. */
export interface EncodedPrefixes {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
}

/**
 * The announcements of packUpdates for prefixes already in wire form, those at [from, to) of
 * `list`: the same messages packUpdates(attrs, those prefixes, [], ctx, family) builds, without
 * reading any prefix text (the initial transfer of a table encoded before the session).
 */
export function packEncoded(attrs: PathAttributes, list: EncodedPrefixes, from: number, to: number, ctx: CodecContext, family: IpFamily): Buffer[] {
  if (!(from >= 0 && to <= list.ends.length && from <= to)) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `packEncoded: range [${from}, ${to}) outside 0..${list.ends.length}`);
  try {
    const out: Buffer[] = [];
    announce(out, attrs, list, from, to, ctx, family);
    return out;
  } catch (e) {
    if (e instanceof EdgelbError) throw e;
    throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `cannot pack UPDATEs: ${(e as Error).message}`, { cause: e });
  }
}

function pack(attrs: PathAttributes, nlri: readonly string[], withdrawn: readonly string[], ctx: CodecContext, family: IpFamily): Buffer[] {
  const out: Buffer[] = [];
  const afi = family === 4 ? Afi.IPV4 : Afi.IPV6;
  const safi = Safi.UNICAST;

  if (withdrawn.length > 0) {
    const extra = family === 4 ? 0 : MP_ATTR_HEADER + 3;
    const list = encodePrefixList(withdrawn, family);
    chunk(list, 0, list.ends.length, ctx.maxLength - UPDATE_OVERHEAD - extra, (run) => {
      const w = start(run.length);
      if (family === 4) {
        w.u16(run.length).bytes(run).u16(0);
      } else {
        const v = new BgpWriter(3 + run.length);
        v.u16(afi).u8(safi).bytes(run);
        const value = v.toBuffer();
        w.u16(0).u16(value.length + (value.length > 255 ? 4 : 3));
        writeAttribute(w, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, value);
      }
      out.push(finish(w));
    });
  }
  if (nlri.length > 0) {
    const list = encodePrefixList(nlri, family);
    announce(out, attrs, list, 0, list.ends.length, ctx, family);
  }
  return out;
}

/** Announcements of the prefixes [from, to) of `list` sharing `attrs`, appended to `out`. */
function announce(out: Buffer[], attrs: PathAttributes, list: EncodedPrefixes, from: number, to: number, ctx: CodecContext, family: IpFamily): void {
  if (to <= from) return;
  const { mpReach, mpUnreach, ...shared } = attrs;
  void mpUnreach;
  const afi = family === 4 ? Afi.IPV4 : Afi.IPV6;
  const safi = Safi.UNICAST;
  let nh: Uint8Array | undefined;
  if (family === 6) {
    const hops = mpReach?.nextHops ?? (shared.nextHop && familyOf(shared.nextHop) === 6 ? [shared.nextHop] : undefined);
    if (!hops) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', 'IPv6 announcements need attrs.mpReach.nextHops or an IPv6 attrs.nextHop');
    nh = nextHopBytes({ afi, safi, nextHops: hops, nlri: [] });
    delete shared.nextHop; // RFC 4760: no NEXT_HOP with MP_REACH only
  } else if (!shared.nextHop || familyOf(shared.nextHop) !== 4) {
    throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', 'IPv4 announcements need an IPv4 attrs.nextHop');
  }
  const aw = new BgpWriter(128);
  encodeAttributes(aw, shared, ctx);
  const attrBytes = aw.toBuffer();
  const mpFixed = nh ? MP_ATTR_HEADER + 5 + nh.length : 0;
  const budget = ctx.maxLength - UPDATE_OVERHEAD - attrBytes.length - mpFixed;
  chunk(list, from, to, budget, (run) => {
    const w = start(attrBytes.length + run.length + 64);
    w.u16(0);
    const al = w.reserveU16();
    if (nh) {
      const v = new BgpWriter(5 + nh.length + run.length);
      v.u16(afi).u8(safi).u8(nh.length).bytes(nh).u8(0).bytes(run);
      writeAttribute(w, AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, v.toBuffer());
      w.bytes(attrBytes);
      w.setU16(al, w.length - al - 2);
    } else {
      w.bytes(attrBytes);
      w.setU16(al, w.length - al - 2);
      w.bytes(run);
    }
    out.push(finish(w));
  });
}

function start(size: number): BgpWriter {
  const w = new BgpWriter(HEADER_LENGTH + 8 + size);
  writeHeader(w, MessageType.UPDATE);
  return w;
}

function finish(w: BgpWriter): Buffer {
  w.setU16(16, w.length); // the header's length field
  return w.toBuffer();
}

/**
 * Greedy runs of the encoded prefixes [first, last) that fit `budget` bytes; each run is a view of
 * `list.bytes`. Each run's end is found by a binary search over `ends`, so the work is per message,
 * not per prefix: no loop here gets hot enough for V8 to stop the thread and optimize it in the
 * middle of a transfer (the daemon runs with --no-concurrent-recompilation).
 */
function chunk(list: EncodedPrefixes, first: number, last: number, budget: number, emit: (run: Buffer) => void): void {
  if (budget < 17) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `the attributes leave only ${budget} bytes for prefixes in an UPDATE`);
  const ends = list.ends;
  let from = first > 0 ? ends[first - 1]! : 0;
  let i = first;
  while (i < last) {
    // the last prefix j in [i, last) whose end fits: ends[j] - from <= budget (one prefix always does)
    let lo = i;
    let hi = last - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (ends[mid]! - from <= budget) lo = mid;
      else hi = mid - 1;
    }
    const end = ends[lo]!;
    emit(list.bytes.subarray(from, end));
    from = end;
    i = lo + 1;
  }
}
