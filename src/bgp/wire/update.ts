// UPDATE message (RFC 4271 §4.3, RFC 4760, RFC 7606): decode with revised error handling, encode, describe.
import { AS_TRANS, AttrType, ErrorCode, UpdateSubcode } from './constants.js';
import { BgpDecodeError, strongerHandling } from './errors.js';
import { BgpReader } from './reader.js';
import type { BgpWriter } from './writer.js';
import { decodeAttributes, describeAttributes, encodeAttributes } from './attributes.js';
import { mergeAs4Path } from './attr-aspath.js';
import { invalidNetworkField, readPrefixes, writePrefixes } from './prefix.js';
import type { CodecContext, PathAttributes, UpdateMessage } from './types.js';

const malformedList = (detail: string) =>
  new BgpDecodeError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, Buffer.alloc(0), 'session-reset', detail);

export function decodeUpdate(body: Buffer, ctx: CodecContext): UpdateMessage {
  const r = new BgpReader(body, malformedList);
  const wLen = r.u16('withdrawn routes length');
  // RFC 4271 §6.3: lengths that overrun the message are a Malformed Attribute List
  if (wLen > r.remaining - 2) throw malformedList(`withdrawn routes length ${wLen} overruns the message`);
  const withdrawn = readPrefixes(r.sub(wLen, 'withdrawn routes'), 4, invalidNetworkField);
  const aLen = r.u16('total path attribute length');
  if (aLen > r.remaining) throw malformedList(`total path attribute length ${aLen} overruns the message`);
  const attrBuf = r.bytes(aLen);
  const nlri = readPrefixes(r, 4, invalidNetworkField);

  const res = decodeAttributes(attrBuf, ctx);
  const attrs = res.attrs;
  const errors = res.errors;
  let handling = res.handling;
  const note = (e: BgpDecodeError) => {
    errors.push(e);
    handling = handling ? strongerHandling(handling, e.handling) : e.handling;
  };

  if (!ctx.as4) mergeAs4(attrs);
  delete attrs.as4Path;
  delete attrs.as4Aggregator;

  // RFC 7606 §3 (d): a missing well-known mandatory attribute makes the UPDATE treat-as-withdraw
  const reaches = nlri.length > 0 || (attrs.mpReach !== undefined && attrs.mpReach.nlri.length > 0);
  if (reaches) {
    const need = [AttrType.ORIGIN, AttrType.AS_PATH, ...(nlri.length > 0 ? [AttrType.NEXT_HOP] : [])];
    for (const code of need) {
      if (res.seen.has(code)) continue;
      note(new BgpDecodeError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, Buffer.from([code]), 'treat-as-withdraw', `missing attribute ${code}`, code));
    }
  }

  const msg: UpdateMessage = { type: 'update', withdrawn, attributes: attrs, nlri };
  if (handling === 'treat-as-withdraw') return asWithdraw(msg, errors);
  if (errors.length > 0) msg.errors = errors;
  return msg;
}

/** RFC 6793 §4.2.3: rebuild the real AS path and aggregator from an old speaker's AS4_* attributes. */
function mergeAs4(a: PathAttributes): void {
  if (a.aggregator && a.aggregator.asn !== AS_TRANS && a.as4Aggregator) return; // both AS4_* are to be ignored
  if (a.aggregator && a.as4Aggregator) a.aggregator = a.as4Aggregator;
  if (a.asPath && a.as4Path) a.asPath = mergeAs4Path(a.asPath, a.as4Path);
}

/** Everything the UPDATE carried becomes a withdrawal; no attribute other than MP_UNREACH is kept. */
function asWithdraw(m: UpdateMessage, errors: BgpDecodeError[]): UpdateMessage {
  const a = m.attributes;
  const out: UpdateMessage = { type: 'update', withdrawn: [...m.withdrawn, ...m.nlri], attributes: {}, nlri: [], treatAsWithdraw: true, errors };
  let unreach = a.mpUnreach;
  if (a.mpReach && a.mpReach.nlri.length > 0) {
    if (unreach && (unreach.afi !== a.mpReach.afi || unreach.safi !== a.mpReach.safi)) {
      // one UPDATE withdrawing two families cannot be expressed in one MP_UNREACH: reset (RFC 7606 §5.3 allows it)
      const e = errors.find((x) => x.handling === 'treat-as-withdraw')!;
      throw e.withHandling('session-reset');
    }
    unreach = { afi: a.mpReach.afi, safi: a.mpReach.safi, withdrawn: [...(unreach?.withdrawn ?? []), ...a.mpReach.nlri] };
  }
  if (unreach) out.attributes.mpUnreach = unreach;
  return out;
}

export function encodeUpdate(w: BgpWriter, m: UpdateMessage, ctx: CodecContext): void {
  const wAt = w.reserveU16();
  writePrefixes(w, m.withdrawn, 4);
  w.setU16(wAt, w.length - wAt - 2);
  const aAt = w.reserveU16();
  encodeAttributes(w, m.attributes, ctx);
  w.setU16(aAt, w.length - aAt - 2);
  writePrefixes(w, m.nlri, 4);
}

export function describeUpdate(m: UpdateMessage): string {
  const parts = ['UPDATE'];
  if (m.treatAsWithdraw) parts.push('(treat-as-withdraw)');
  if (m.withdrawn.length) parts.push(`withdrawn ${list(m.withdrawn)}`);
  const attrs = describeAttributes(m.attributes);
  if (attrs) parts.push(attrs);
  if (m.nlri.length) parts.push(`nlri ${list(m.nlri)}`);
  if (parts.length === 1) parts.push('(end-of-rib ipv4/unicast)');
  if (m.errors?.length) parts.push(`errors [${m.errors.map((e) => `${e.bgpCode}/${e.subcode} ${e.handling}`).join(', ')}]`);
  return parts.join(' ');
}

function list(xs: readonly string[]): string {
  return xs.length <= 4 ? `[${xs.join(' ')}]` : `[${xs.slice(0, 3).join(' ')} … ${xs.length} prefixes]`;
}

/** Typed constructor. */
export function updateMessage(u: { withdrawn?: string[]; attributes?: PathAttributes; nlri?: string[] }): UpdateMessage {
  return { type: 'update', withdrawn: u.withdrawn ?? [], attributes: u.attributes ?? {}, nlri: u.nlri ?? [] };
}

