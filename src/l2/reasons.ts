// Why the L2 codec or announcer did not answer a frame. Stable strings: tests and the
// edgelb_l2_ignored_total{reason} metric use them.

export const IgnoreReason = {
  /** Fewer than 14 bytes. */
  ShortFrame: 'short-frame',
  /** Neither ARP nor IPv6 (or VLAN-tagged: the announcer works on the untagged interface). */
  OtherEtherType: 'other-ethertype',
  /** Sent by this interface (our own announcements looped back). */
  OwnFrame: 'own-frame',
  ArpTruncated: 'arp-truncated',
  /** Hardware type is not Ethernet or length is not 6. */
  ArpBadHardware: 'arp-bad-hardware',
  /** Protocol type is not IPv4 or length is not 4. */
  ArpBadProtocol: 'arp-bad-protocol',
  ArpUnknownOp: 'arp-unknown-op',
  /** ARP replies (and gratuitous announcements of others) are not ours to answer. */
  ArpNotRequest: 'arp-not-request',
  /** A request whose sender claims the VIP itself: an address conflict, never answered. */
  ArpSenderIsTarget: 'arp-sender-is-target',
  Ipv6Truncated: 'ipv6-truncated',
  Ipv6BadVersion: 'ipv6-bad-version',
  /** Next header is not ICMPv6 (extension headers are not followed). */
  NotIcmpv6: 'not-icmpv6',
  /** ICMPv6 but not a neighbour solicitation (NA, RS, echo, MLD, ...). */
  NotNeighbourSolicitation: 'not-neighbour-solicitation',
  NdpTruncated: 'ndp-truncated',
  /** RFC 4861 7.1.1: hop limit must be 255 (the packet came from this link). */
  NdpBadHopLimit: 'ndp-bad-hop-limit',
  NdpBadCode: 'ndp-bad-code',
  NdpBadChecksum: 'ndp-bad-checksum',
  /** An option with length 0, or running past the end. */
  NdpBadOption: 'ndp-bad-option',
  NdpMulticastTarget: 'ndp-multicast-target',
  /** RFC 4861 7.1.1: from :: the destination must be solicited-node multicast and no SLLAO. */
  NdpBadDad: 'ndp-bad-dad',
  /** The target address is not one this node owns now. */
  NotOwned: 'not-owned',
  /** The announcer is stopped. */
  Stopped: 'stopped',
} as const;

export type IgnoreReason = (typeof IgnoreReason)[keyof typeof IgnoreReason];

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: IgnoreReason };

export const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
export const ignore = <T>(reason: IgnoreReason): Decoded<T> => ({ ok: false, reason });
