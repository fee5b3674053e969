// packUpdates: many prefixes sharing the same attributes into as few UPDATEs as fit the negotiated size.
import { EdgelbError } from '../../lib/errors.js';
import { familyOf } from '../../lib/addr.js';
import { Afi, AttrFlag, AttrType, HEADER_LENGTH, MessageType, Safi } from './constants.js';
import { encodeAttributes, writeAttribute } from './attributes.js';
import { writeHeader } from './header.js';
import { nextHopBytes } from './attr-mp.js';
import { prefixBytes, type IpFamily } from './prefix.js';
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
  const out: Buffer[] = [];
  const { mpReach, mpUnreach, ...shared } = attrs;
  void mpUnreach;
  const afi = family === 4 ? Afi.IPV4 : Afi.IPV6;
  const safi = Safi.UNICAST;

  if (withdrawn.length > 0) {
    const extra = family === 4 ? 0 : MP_ATTR_HEADER + 3;
    chunk(withdrawn.map((p) => prefixBytes(p, family)), ctx.maxLength - UPDATE_OVERHEAD - extra, (parts) => {
      const w = start();
      if (family === 4) {
        const wl = w.reserveU16();
        for (const p of parts) w.bytes(p);
        w.setU16(wl, w.length - wl - 2);
        w.u16(0);
      } else {
        w.u16(0);
        const al = w.reserveU16();
        const v = new BgpWriter(3 + sum(parts));
        v.u16(afi).u8(safi);
        for (const p of parts) v.bytes(p);
        writeAttribute(w, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, v.toBuffer());
        w.setU16(al, w.length - al - 2);
      }
      out.push(finish(w));
    });
  }

  if (nlri.length > 0) {
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
    chunk(nlri.map((p) => prefixBytes(p, family)), budget, (parts) => {
      const w = start();
      w.u16(0);
      const al = w.reserveU16();
      if (nh) {
        const v = new BgpWriter(5 + nh.length + sum(parts));
        v.u16(afi).u8(safi).u8(nh.length).bytes(nh).u8(0);
        for (const p of parts) v.bytes(p);
        writeAttribute(w, AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, v.toBuffer());
        w.bytes(attrBytes);
        w.setU16(al, w.length - al - 2);
      } else {
        w.bytes(attrBytes);
        w.setU16(al, w.length - al - 2);
        for (const p of parts) w.bytes(p);
      }
      out.push(finish(w));
    });
  }
  return out;

  function start(): BgpWriter {
    const w = new BgpWriter(Math.min(ctx.maxLength, 4096));
    writeHeader(w, MessageType.UPDATE);
    return w;
  }
  function finish(w: BgpWriter): Buffer {
    w.setU16(16, w.length); // the header's length field
    return w.toBuffer();
  }
}

function sum(parts: Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** Greedy runs of consecutive prefixes whose encoded size fits `budget`. */
function chunk(parts: Uint8Array[], budget: number, emit: (run: Uint8Array[]) => void): void {
  if (budget < 17) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `the attributes leave only ${budget} bytes for prefixes in an UPDATE`);
  let run: Uint8Array[] = [];
  let size = 0;
  for (const p of parts) {
    if (size + p.length > budget) {
      emit(run);
      run = [];
      size = 0;
    }
    run.push(p);
    size += p.length;
  }
  if (run.length > 0) emit(run);
}
