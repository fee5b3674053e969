// AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 6793): segments in 2- or 4-byte form, AS_TRANS substitution and merging.
import { AS_TRANS, AsPathSegmentCode } from './constants.js';
import type { BgpReader } from './reader.js';
import type { BgpWriter } from './writer.js';
import type { AsPathSegment, AsPathSegmentType } from './types.js';

const TYPE_OF: Record<number, AsPathSegmentType> = {
  [AsPathSegmentCode.AS_SET]: 'set',
  [AsPathSegmentCode.AS_SEQUENCE]: 'sequence',
  [AsPathSegmentCode.AS_CONFED_SEQUENCE]: 'confed-sequence',
  [AsPathSegmentCode.AS_CONFED_SET]: 'confed-set',
};
const CODE_OF: Record<AsPathSegmentType, number> = { set: 1, sequence: 2, 'confed-sequence': 3, 'confed-set': 4 };

/** Decode segments until the reader ends; returns a reason string when malformed (RFC 7606 §7.2). */
export function readAsPath(r: BgpReader, asnSize: 2 | 4): AsPathSegment[] | string {
  const out: AsPathSegment[] = [];
  while (!r.atEnd) {
    if (r.remaining < 2) return 'truncated segment header';
    const code = r.u8();
    const count = r.u8();
    const type = TYPE_OF[code];
    if (!type) return `segment type ${code}`;
    if (count === 0) return 'empty segment';
    if (r.remaining < count * asnSize) return `segment of ${count} AS numbers overruns the attribute`;
    const asns: number[] = new Array(count);
    for (let i = 0; i < count; i++) asns[i] = asnSize === 4 ? r.u32() : r.u16();
    // RFC 7607: AS 0 in a path is malformed (AS_PATH: treat-as-withdraw, AS4_PATH: discard)
    if (asns.includes(0)) return 'AS 0 in the path (RFC 7607)';
    out.push({ type, asns });
  }
  return out;
}

/** Encode segments, splitting any longer than 255 AS numbers; in 2-byte form AS numbers above 65535 become AS_TRANS. */
export function writeAsPath(w: BgpWriter, path: readonly AsPathSegment[], asnSize: 2 | 4): void {
  for (const seg of path) {
    for (let i = 0; i < seg.asns.length; i += 255) {
      const part = seg.asns.slice(i, i + 255);
      w.u8(CODE_OF[seg.type]).u8(part.length);
      for (const a of part) {
        if (asnSize === 4) w.u32(a);
        else w.u16(a > 0xffff ? AS_TRANS : a);
      }
    }
  }
}

export function needsAs4(path: readonly AsPathSegment[]): boolean {
  return path.some((s) => s.asns.some((a) => a > 0xffff));
}

/** Path length as RFC 4271 §9.1.2.2 counts it: a set counts one, confederation segments none. */
export function asPathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) n += s.type === 'sequence' ? s.asns.length : s.type === 'set' ? 1 : 0;
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuild the real path from an old speaker's AS_PATH and AS4_PATH: the leading
 * (len(AS_PATH) - len(AS4_PATH)) AS numbers of AS_PATH followed by AS4_PATH; AS4_PATH is ignored when longer.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  let keep = asPathLength(asPath) - asPathLength(as4Path);
  if (keep < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (s.type === 'confed-sequence' || s.type === 'confed-set') {
      if (keep > 0 || out.length === 0 || out.every((x) => x.type.startsWith('confed'))) out.push({ type: s.type, asns: [...s.asns] });
      continue;
    }
    if (keep <= 0) break;
    if (s.type === 'set') {
      out.push({ type: 'set', asns: [...s.asns] });
      keep -= 1;
    } else {
      const take = Math.min(keep, s.asns.length);
      out.push({ type: 'sequence', asns: s.asns.slice(0, take) });
      keep -= take;
    }
  }
  as4Path.forEach((s, i) => {
    // the head taken from AS_PATH and AS4_PATH's first segment are one sequence split by the merge
    const last = out[out.length - 1];
    if (i === 0 && last && last.type === 'sequence' && s.type === 'sequence' && last.asns.length + s.asns.length <= 255) last.asns.push(...s.asns);
    else out.push({ type: s.type, asns: [...s.asns] });
  });
  return out;
}

/** AS4_PATH toward an old speaker: the real path without confederation segments (RFC 6793 §4.2.2). */
export function as4PathOf(path: readonly AsPathSegment[]): AsPathSegment[] {
  return path.filter((s) => s.type === 'sequence' || s.type === 'set');
}

export function describeAsPath(path: readonly AsPathSegment[]): string {
  if (path.length === 0) return '(empty)';
  return path
    .map((s) => {
      const l = s.asns.join(' ');
      return s.type === 'sequence' ? l : s.type === 'set' ? `{${l}}` : s.type === 'confed-sequence' ? `(${l})` : `[${l}]`;
    })
    .join(' ');
}

/** Typed constructors. */
export const asSequence = (...asns: number[]): AsPathSegment => ({ type: 'sequence', asns });
export const asSet = (...asns: number[]): AsPathSegment => ({ type: 'set', asns });
