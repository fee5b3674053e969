// PacketIo over the native addon: two AF_PACKET sockets bound to the interface, one for ARP and
// one for IPv6 (neighbour discovery), ignoring frames this host sends.
// Workaround: when the interface goes down, the socket gets ENETDOWN, libuv sees POLLERR and stops
// the addon's poll handle for good, so after a link flap no frame would reach us again. Until the
// addon restarts its poller itself, the receivers are re-armed every REARM_MS (the socket stays
// open, frames wait in its buffer meanwhile, so none is lost).
import { loadNative, type NativeBinding, type PacketSocketHandle } from '../native/index.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.js';
import type { PacketIo } from './packet-io.js';

const REARM_MS = 200;

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
  let rearm: NodeJS.Timeout | undefined;
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
      rearm = setInterval(() => {
        for (const s of [arp, ip6]) {
          s.stop();
          s.start(on);
        }
      }, REARM_MS);
      rearm.unref();
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
      if (rearm) clearInterval(rearm);
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
