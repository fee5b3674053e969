// PacketIo: what the L2 announcer needs from a packet socket bound to one interface. The native
// addon provides the real one (AF_PACKET); unit tests inject an in-memory one.

export interface PacketIo {
  /** The interface's MAC address (6 bytes): replies and announcements are sent from it. */
  readonly mac: Uint8Array;
  /** Send one whole Ethernet frame (no FCS). */
  send(frame: Uint8Array): void;
  /** Register the receiver of every ARP and IPv6 frame arriving on the interface. */
  onFrame(handler: (frame: Uint8Array) => void): void;
  /** Accept frames to this multicast MAC (solicited-node groups of IPv6 VIPs). */
  addMulticast(mac: Uint8Array): void;
  dropMulticast(mac: Uint8Array): void;
  /** The IPv6 VIPs whose neighbour solicitations must reach onFrame (a kernel filter drops the
   *  rest before they are copied to JavaScript). Optional: an io without it delivers everything. */
  setNdpTargets?(vips: readonly string[]): void;
  /** Release the socket. */
  close(): void;
}
