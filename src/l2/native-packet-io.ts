// PacketIo over the native addon: two AF_PACKET sockets bound to the interface, one for ARP and
// one for IPv6 (neighbour discovery), ignoring frames this host sends. After a link flap the
// socket reports ENETDOWN; the addon's poller clears it and keeps delivering frames.
import { loadNative, type NativeBinding, type PacketSocketHandle } from '../native/index.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.js';
import type { PacketIo } from './packet-io.js';

export function openNativePacketIo(ifname: string, native: NativeBinding = loadNative()): PacketIo {
  const arp = native.openPacketSocket(ifname, ETHERTYPE_ARP, { ignoreOutgoing: true });
  let ip6: PacketSocketHandle;
  try {
    ip6 = native.openPacketSocket(ifname, ETHERTYPE_IPV6, { ignoreOutgoing: true });
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
