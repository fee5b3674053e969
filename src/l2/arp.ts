// ARP (RFC 826) for Ethernet/IPv4: request, reply and gratuitous announcement codec. Pure.
import { bytesToIp, ipToBytes } from '../lib/addr.js';
import { BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, ZERO_MAC, encodeEthernet, formatMac } from './ethernet.js';
import { IgnoreReason, ignore, ok, type Decoded } from './reasons.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
export const ARP_LEN = 28;

export interface ArpPacket {
  op: 1 | 2;
  senderMac: Uint8Array;
  senderIp: string;
  targetMac: Uint8Array;
  targetIp: string;
}

export function encodeArp(p: ArpPacket): Uint8Array {
  const b = new Uint8Array(ARP_LEN);
  b[1] = 1; // hardware type Ethernet
  b[2] = ETHERTYPE_IPV4 >> 8; // protocol type IPv4
  b[3] = ETHERTYPE_IPV4 & 0xff;
  b[4] = 6; // hardware length
  b[5] = 4; // protocol length
  b[7] = p.op;
  b.set(p.senderMac.subarray(0, 6), 8);
  b.set(ipToBytes(p.senderIp), 14);
  b.set(p.targetMac.subarray(0, 6), 18);
  b.set(ipToBytes(p.targetIp), 24);
  return b;
}

/** Decode an ARP payload (after the Ethernet header; trailing padding is ignored). */
export function decodeArp(b: Uint8Array): Decoded<ArpPacket> {
  if (b.length < 8) return ignore(IgnoreReason.ArpTruncated);
  const htype = (b[0]! << 8) | b[1]!;
  const ptype = (b[2]! << 8) | b[3]!;
  if (htype !== 1 || b[4] !== 6) return ignore(IgnoreReason.ArpBadHardware);
  if (ptype !== ETHERTYPE_IPV4 || b[5] !== 4) return ignore(IgnoreReason.ArpBadProtocol);
  if (b.length < ARP_LEN) return ignore(IgnoreReason.ArpTruncated);
  const op = (b[6]! << 8) | b[7]!;
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return ignore(IgnoreReason.ArpUnknownOp);
  return ok({
    op,
    senderMac: b.slice(8, 14),
    senderIp: bytesToIp(b.subarray(14, 18)),
    targetMac: b.slice(18, 24),
    targetIp: bytesToIp(b.subarray(24, 28)),
  });
}

/** The whole reply frame to a request for `vip`, answered from `mac`, unicast to the asker. */
export function arpReplyFrame(req: ArpPacket, vip: string, mac: Uint8Array): Uint8Array {
  const payload = encodeArp({ op: ARP_REPLY, senderMac: mac, senderIp: vip, targetMac: req.senderMac, targetIp: req.senderIp });
  return encodeEthernet({ dst: req.senderMac, src: mac, etherType: ETHERTYPE_ARP, payload });
}

/**
 * Gratuitous ARP announcement (RFC 5227 §2.3): a broadcast request with sender and target
 * address both the VIP and a zero target MAC. Linux, Windows and switches update an existing
 * entry from it.
 */
export function gratuitousArpFrame(vip: string, mac: Uint8Array): Uint8Array {
  const payload = encodeArp({ op: ARP_REQUEST, senderMac: mac, senderIp: vip, targetMac: ZERO_MAC, targetIp: vip });
  return encodeEthernet({ dst: BROADCAST_MAC, src: mac, etherType: ETHERTYPE_ARP, payload });
}

export function arpToString(p: ArpPacket): string {
  return p.op === ARP_REQUEST
    ? `arp who-has ${p.targetIp} tell ${p.senderIp} (${formatMac(p.senderMac)})`
    : `arp reply ${p.senderIp} is-at ${formatMac(p.senderMac)}`;
}
