// Ethernet II framing and MAC address helpers for the L2 announcer. Pure, no I/O.

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETH_HEADER_LEN = 14;
/** Shortest Ethernet frame without the FCS; shorter frames are padded with zeros on encode. */
export const ETH_MIN_FRAME = 60;

export const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
export const ZERO_MAC = new Uint8Array(6);

export interface EthernetFrame {
  dst: Uint8Array; // 6 bytes
  src: Uint8Array; // 6 bytes
  etherType: number;
  payload: Uint8Array;
}

/** "aa:bb:cc:dd:ee:ff" → 6 bytes. Throws on anything else. */
export function parseMac(s: string): Uint8Array {
  const parts = s.trim().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new TypeError(`not a MAC address: ${s}`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== 6 || b.length !== 6) return false;
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Group bit (I/G) set: broadcast or multicast. */
export function isMulticastMac(b: Uint8Array): boolean {
  return (b[0]! & 1) === 1;
}

/** Frame the payload; pads to the 60-byte minimum. */
export function encodeEthernet(f: EthernetFrame): Uint8Array {
  const len = Math.max(ETH_MIN_FRAME, ETH_HEADER_LEN + f.payload.length);
  const out = new Uint8Array(len);
  out.set(f.dst.subarray(0, 6), 0);
  out.set(f.src.subarray(0, 6), 6);
  out[12] = f.etherType >> 8;
  out[13] = f.etherType & 0xff;
  out.set(f.payload, ETH_HEADER_LEN);
  return out;
}

/** Split a frame; null when shorter than a header. The payload keeps any trailing padding. */
export function decodeEthernet(b: Uint8Array): EthernetFrame | null {
  if (b.length < ETH_HEADER_LEN) return null;
  return {
    dst: b.subarray(0, 6),
    src: b.subarray(6, 12),
    etherType: (b[12]! << 8) | b[13]!,
    payload: b.subarray(ETH_HEADER_LEN),
  };
}
