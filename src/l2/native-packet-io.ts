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

export function openNativePacketIo(ifname: string, native: NativeBinding = loadNative()): NativePacketIo {
  const arp = native.openPacketSocket(ifname, ETHERTYPE_ARP, { ignoreOutgoing: true, filter: 'arp-request' });
  let ip6: PacketSocketHandle;
  try {
    // no target yet: no solicitation is ours until setNdpTargets
    ip6 = native.openPacketSocket(ifname, ETHERTYPE_IPV6, { ignoreOutgoing: true, filter: 'neighbour-solicitation' });
    ip6.setNdpTargets([]);
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
