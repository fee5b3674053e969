// A bounded SYN burst for the data-path lab: COUNT TCP SYNs with random source ports and sequence
// numbers from one source address to VIP:PORT, spread evenly over SECONDS, sent as raw Ethernet
// frames (the addon's packet socket) so the sending namespace's kernel keeps no state and sends no
// RST for the answers (the source address is not configured anywhere: answers die at the router).
// Prints "SENT n ms" when done.
//   node --import tsx test/lab/dataplane-synflood.ts IFACE ROUTER_MAC SRC VIP PORT COUNT SECONDS
import { randomInt } from 'node:crypto';
import { loadNative } from '../../src/native/index.js';
import { frame, TCP_SYN } from '../unit/dataplane/pkt.js';

const [iface, routerMac, src, vip, port, count, seconds] = process.argv.slice(2);
const n = Number(count);
const ms = Number(seconds) * 1000;
if (!iface || !routerMac || !src || !vip || !(n > 0 && n <= 1_000_000) || !(ms > 0 && ms <= 120_000)) {
  process.stderr.write('usage: dataplane-synflood.ts IFACE ROUTER_MAC SRC VIP PORT COUNT(1..1e6) SECONDS(<=120)\n');
  process.exit(2);
}
const sock = loadNative().openPacketSocket(iface, 0x0800);
const mac = [...sock.mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
const start = Date.now();
let sent = 0;
while (sent < n) {
  // pace: as many as are due by now, then yield a millisecond
  const due = Math.min(n, Math.ceil(((Date.now() - start + 1) / ms) * n));
  for (; sent < due; sent++) {
    sock.send(frame({ srcMac: mac, dstMac: routerMac, src, dst: vip, proto: 'tcp', sport: randomInt(1024, 65536), dport: Number(port), seq: randomInt(0, 2 ** 32), tcpFlags: TCP_SYN }));
  }
  await new Promise((r) => setTimeout(r, 1));
}
sock.close();
process.stdout.write(`SENT ${sent} ${Date.now() - start}\n`);
