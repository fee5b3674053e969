// Child process for the L2 socket-filter lab test, run inside a namespace (nsenter --net=...):
//   announce JSON: the real announcer over openNativePacketIo owning the VIPs; counts what reaches
//     JavaScript (by kind) next to an unfiltered IPv6 packet socket (what the old code received);
//     prints "ready", then one JSON line after holdMs.
//   flood JSON: sends a bounded burst of frames to dstMac through a packet socket: IPv6 UDP, and
//     look-alikes the filter must drop (NS for another target, NS with hop limit 64, NS behind a
//     hop-by-hop header, ARP replies), then a few real NS for the VIP and ARP requests for VIP4.
import { Registry } from 'prom-client';
import { loadNative, ETH_P_ARP, ETH_P_IPV6 } from '../../src/native/index.js';
import { openNativePacketIo } from '../../src/l2/native-packet-io.js';
import { L2Announcer } from '../../src/l2/announcer.js';
import { encodeArp } from '../../src/l2/arp.js';
import { encodeEthernet, parseMac } from '../../src/l2/ethernet.js';
import { encodeIpv6, encodeNeighbourSolicitation, icmpv6Checksum, solicitedNodeAddress } from '../../src/l2/ndp.js';
import { ipToBytes } from '../../src/lib/addr.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { PacketIo } from '../../src/l2/packet-io.js';

const n = loadNative();
const [scenario = '', argJson = '{}'] = process.argv.slice(2);
const args = JSON.parse(argJson) as Record<string, string | number>;
const str = (k: string): string => String(args[k]);
const num = (k: string): number => Number(args[k]);

type Kind = 'ns-vip' | 'ns-other' | 'ipv6-other' | 'arp-request' | 'arp-other';

function classify(f: Uint8Array, vip6: Uint8Array): Kind {
  const et = (f[12]! << 8) | f[13]!;
  if (et === ETH_P_ARP) return ((f[20]! << 8) | f[21]!) === 1 ? 'arp-request' : 'arp-other';
  if (f[20] === 58 && f[54] === 135) return Buffer.from(f.subarray(62, 78)).equals(Buffer.from(vip6)) ? 'ns-vip' : 'ns-other';
  return 'ipv6-other';
}

async function announce(): Promise<unknown> {
  const vip6 = ipToBytes(str('vip6'));
  const counts: Record<Kind, number> = { 'ns-vip': 0, 'ns-other': 0, 'ipv6-other': 0, 'arp-request': 0, 'arp-other': 0 };
  const native = openNativePacketIo(str('ifname'), n);
  const io: PacketIo = {
    ...native,
    onFrame: (h) =>
      native.onFrame((f) => {
        counts[classify(f, vip6)]++;
        h(f);
      }),
  };
  const registry = new Registry();
  const ann = new L2Announcer({ iface: str('ifname'), logger: silentLogger(), registry, io, garpCount: 0, refreshIntervalMs: 0 });
  ann.start();
  ann.setOwned([str('vip6'), str('vip4')]);
  // the control: an unfiltered socket on the same interface sees the whole flood
  const raw = n.openPacketSocket(str('ifname'), ETH_P_IPV6, { ignoreOutgoing: true });
  let unfiltered = 0;
  raw.start(() => unfiltered++);
  process.stdout.write('ready\n');
  await new Promise((r) => setTimeout(r, num('holdMs')));
  const replies = (await registry.getSingleMetric('edgelb_l2_replies_total')!.get()).values.map((v) => ({ proto: v.labels.proto, value: v.value }));
  const out = { counts, delivered: native.delivered(), unfiltered, replies };
  raw.close();
  ann.stop();
  return out;
}

function udp6(src: string, dst: string, i: number): Uint8Array {
  const payload = Buffer.alloc(8 + 32);
  payload.writeUInt16BE(40000 + (i % 1000), 0);
  payload.writeUInt16BE(9, 2);
  payload.writeUInt16BE(payload.length, 4);
  return encodeIpv6({ src, dst, hopLimit: 64, nextHeader: 17, payload });
}

/** An NS for target as ICMPv6 bytes with a correct checksum. */
function nsIcmp(src: string, dst: string, target: string): Uint8Array {
  const m = new Uint8Array(24);
  m[0] = 135;
  m.set(ipToBytes(target), 8);
  const c = icmpv6Checksum(ipToBytes(src), ipToBytes(dst), m);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return m;
}

const pause = () => new Promise((r) => setTimeout(r, 2));

async function flood(): Promise<unknown> {
  const sock = n.openPacketSocket(str('ifname'), ETH_P_IPV6);
  const arpSock = n.openPacketSocket(str('ifname'), ETH_P_ARP);
  const me = Uint8Array.from(sock.mac);
  const dstMac = parseMac(str('dstMac'));
  const src = str('src6');
  const vip6 = str('vip6');
  const group = solicitedNodeAddress(vip6);
  const eth = (payload: Uint8Array, etherType = ETH_P_IPV6, dst = dstMac) => Buffer.from(encodeEthernet({ dst, src: me, etherType, payload }));
  const sent: Record<string, number> = {};
  // paced (100 frames, then 2 ms) so the unfiltered control socket's buffer keeps up
  const send = async (kind: string, count: number, frame: (i: number) => Buffer, s = sock) => {
    for (let i = 0; i < count; i++) {
      s.send(frame(i));
      if (i % 100 === 99) await pause();
    }
    sent[kind] = (sent[kind] ?? 0) + count;
  };
  const N = num('count');
  await send('ipv6-udp', N, (i) => eth(udp6(src, str('dst6'), i)));
  await send('ns-other-target', 500, () => eth(encodeIpv6({ src, dst: str('dst6'), hopLimit: 255, nextHeader: 58, payload: nsIcmp(src, str('dst6'), 'fd77::999') })));
  await send('ns-hop-limit-64', 500, () => eth(encodeIpv6({ src, dst: group, hopLimit: 64, nextHeader: 58, payload: nsIcmp(src, group, vip6) })));
  // hop-by-hop header (router alert, as MLD carries) in front of an NS for the VIP
  const hbh = Buffer.concat([Buffer.from([58, 0, 5, 2, 0, 0, 1, 0]), nsIcmp(src, group, vip6)]);
  await send('ns-behind-hop-by-hop', 500, () => eth(encodeIpv6({ src, dst: group, hopLimit: 255, nextHeader: 0, payload: hbh })));
  const arp = (op: 1 | 2, targetIp: string) =>
    eth(encodeArp({ op, senderMac: me, senderIp: str('src4'), targetMac: op === 1 ? new Uint8Array(6) : dstMac, targetIp }), ETH_P_ARP);
  await send('arp-reply', 500, () => arp(2, str('vip4')), arpSock);
  // what must still arrive: real solicitations for the VIP (to its solicited-node group) and ARP requests
  await send('ns-vip', 5, () => Buffer.from(encodeNeighbourSolicitation({ src, dst: group, target: vip6, sourceMac: me }, me)));
  await send('arp-request-vip4', 5, () => arp(1, str('vip4')), arpSock);
  sock.close();
  arpSock.close();
  return { sent };
}

const result = scenario === 'announce' ? await announce() : scenario === 'flood' ? await flood() : { error: `unknown scenario ${scenario}` };
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
