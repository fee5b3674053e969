// PacketIo over the native addon: two AF_PACKET sockets bound to the interface, one for ARP and
// one for IPv6 (neighbour discovery), ignoring frames this host sends. Each carries a kernel
// socket filter, so only ARP requests and neighbour solicitations for our IPv6 VIPs are copied to
// JavaScript (an IPv6 flood on the uplink never reaches the event loop). After a link flap the
// socket reports ENETDOWN; the addon's poller clears it and keeps delivering frames.
import { loadNative, type NativeBinding, type PacketSocketHandle } from '../native/index.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.js';
import type { PacketIo } from './packet-io.js';
import { familyOf } from '../lib/addr.js';

export interface NativePacketIo extends PacketIo {
  setNdpTargets(vips: readonly string[]): void;
  /** Frames the kernel let through to JavaScript, per socket. */
  delivered(): { arp: number; ip6: number };
}

export interface NativePacketIoOptions {
  /** Kernel filters for the announcer (default true): only ARP requests and neighbour solicitations
   *  for the setNdpTargets VIPs reach onFrame. false: every ARP and IPv6 frame (a client that
   *  watches replies and advertisements, as the lab's probes do). */
  announcerFilter?: boolean;
}

export function openNativePacketIo(ifname: string, native: NativeBinding = loadNative(), opts: NativePacketIoOptions = {}): NativePacketIo {
  const filtered = opts.announcerFilter ?? true;
  const arp = native.openPacketSocket(ifname, ETHERTYPE_ARP, { ignoreOutgoing: true, ...(filtered ? { filter: 'arp-request' as const } : {}) });
  let ip6: PacketSocketHandle;
  try {
    ip6 = native.openPacketSocket(ifname, ETHERTYPE_IPV6, { ignoreOutgoing: true, ...(filtered ? { filter: 'neighbour-solicitation' as const } : {}) });
    // no target yet: no solicitation is ours until setNdpTargets
    if (filtered) ip6.setNdpTargets([]);
  } catch (e) {
    arp.close();
    throw e;
  }
  const mac = Uint8Array.from(arp.mac);
  let closed = false;
  return {
    mac,
    send(frame: Uint8Array): void {
      const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
      ((b[12]! << 8) | b[13]!) === ETHERTYPE_ARP ? arp.send(b) : ip6.send(b);
    },
    onFrame(handler: (frame: Uint8Array) => void): void {
      const on = (f: Buffer) => handler(f);
      arp.start(on);
      ip6.start(on);
    },
    addMulticast(group: Uint8Array): void {
      ip6.addMembership(Buffer.from(group));
    },
    dropMulticast(group: Uint8Array): void {
      ip6.dropMembership(Buffer.from(group));
    },
    setNdpTargets(vips: readonly string[]): void {
      if (!filtered) return;
      const v6 = vips.filter((v) => familyOf(v) === 6);
      try {
        ip6.setNdpTargets(v6);
      } catch (e) {
        ip6.setNdpTargets(null); // never filter out a VIP's solicitations: pass them all
        throw e;
      }
    },
    delivered: () => ({ arp: arp.delivered, ip6: ip6.delivered }),
    close(): void {
      if (closed) return;
      closed = true;
      for (const s of [arp, ip6]) {
        try {
          s.stop();
        } catch {
          /* not started */
        }
        s.close();
      }
    },
  };
}
