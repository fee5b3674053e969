// Lab runner for the L2 tests and the failover benchmark (until the node agent exists).
//   node: wires Membership + ShardManager + L2Announcer (native packet socket) for a few VIPs on
//         one node, answers UDP probes on each VIP (the VIPs sit on the namespace's lo), and
//         writes its state to a file and events as JSON lines on stdout.
//   probe: from the client, sends a UDP probe to a VIP every few ms and records who answers and
//         when, and every gratuitous ARP / unsolicited NA seen (time, VIP, MAC).
//   watch: from the client, asks ARP/NDP for every VIP every 50 ms and records every answer.
//   respond: only the UDP responder (for the keepalived comparison in bench/failover-l2.ts).
// Usage: node --import tsx test/lab/l2-node-runner.ts <mode> '<json options>'
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { L2Announcer } from '../../src/l2/announcer.js';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp } from '../../src/l2/arp.js';
import { BROADCAST_MAC, ETHERTYPE_ARP, ZERO_MAC, decodeEthernet, encodeEthernet, formatMac } from '../../src/l2/ethernet.js';
import { decodeNeighbourAdvertisement, encodeNeighbourSolicitation, solicitedNodeAddress } from '../../src/l2/ndp.js';
import { openNativePacketIo } from '../../src/l2/native-packet-io.js';
import { Membership } from '../../src/cluster/membership.js';
import { ShardManager, type ShardChange } from '../../src/cluster/shard-manager.js';
import { familyOf } from '../../src/lib/addr.js';
import { createLogger } from '../../src/lib/logger.js';

const [mode, json] = process.argv.slice(2);
const opts = JSON.parse(json ?? '{}');
const emit = (ev: string, o: object = {}) => process.stdout.write(JSON.stringify({ t: Date.now(), ev, ...o }) + '\n');

interface NodeOpts {
  name: string;
  iface: string;
  listen: string;
  members: string[];
  keyFile: string;
  shards: number;
  vips: Array<{ vip: string; shard: number }>;
  port: number;
  stateFile: string;
  intervalMs?: number;
  deadAfterMs?: number;
  holdDownMs?: number;
  garpCount?: number;
  garpIntervalMs?: number;
}

async function runNode(o: NodeOpts) {
  const logger = createLogger({ level: 'warn' });
  const registry = new Registry();
  const membership = new Membership({
    self: o.name,
    listen: o.listen,
    members: o.members,
    key: readFileSync(o.keyFile),
    intervalMs: o.intervalMs,
    deadAfterMs: o.deadAfterMs,
    logger,
    registry,
  });
  const shards = new ShardManager({ self: o.name, shards: o.shards, membership, holdDownMs: o.holdDownMs ?? 2000, logger, registry });
  const io = openNativePacketIo(o.iface);
  const announcer = new L2Announcer({ iface: o.iface, logger, registry, io, garpCount: o.garpCount ?? 3, garpIntervalMs: o.garpIntervalMs ?? 50, refreshIntervalMs: 5000 });
  const writeState = () =>
    writeFileSync(o.stateFile, JSON.stringify({ t: Date.now(), mac: formatMac(io.mac), mastered: shards.mastered(), owned: announcer.ownedVips(), live: membership.live(), view: shards.view() }));
  shards.on('change', (changes: ShardChange[]) => {
    announcer.setOwned(o.vips.filter((v) => shards.isMaster(v.shard)).map((v) => v.vip));
    for (const c of changes) emit(c.action, c);
    writeState();
  });
  membership.on('dead', (d) => emit('dead', d));
  membership.on('change', () => setImmediate(writeState)); // after ShardManager has re-evaluated
  for (const v of o.vips) {
    const s = createSocket(familyOf(v.vip) === 6 ? 'udp6' : 'udp4');
    s.on('message', (msg, r) => s.send(Buffer.concat([Buffer.from(o.name + ' '), msg]), r.port, r.address));
    s.bind(o.port, v.vip);
  }
  announcer.start();
  await membership.start();
  shards.start();
  writeState();
  emit('started', { mac: formatMac(io.mac), scheduling: membership.scheduling });
  const stop = async () => {
    shards.stop();
    announcer.stop();
    await membership.stop();
    emit('stopped', { maxSendGapMs: membership.maxSendGapMs, maxGcMs: membership.maxGcMs, metrics: await registry.getMetricsAsJSON().then((ms) => ms.filter((m) => /failover|deaths|dropped|stalls|late/.test(m.name)).map((m) => ({ name: m.name, values: m.values }))) });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

interface ProbeOpts {
  vip: string;
  port: number;
  iface: string;
  everyMs: number;
  durationMs: number;
}

async function runProbe(o: ProbeOpts) {
  const replies: Array<[number, string]> = [];
  const garps: Array<[number, string, string]> = [];
  const io = openNativePacketIo(o.iface, undefined, { announcerFilter: false }); // replies and GARPs too
  io.onFrame((f) => {
    const eth = decodeEthernet(f);
    if (!eth) return;
    const t = Date.now();
    if (eth.etherType === ETHERTYPE_ARP) {
      const a = decodeArp(eth.payload);
      if (a.ok && a.value.senderIp === a.value.targetIp) garps.push([t, a.value.senderIp, formatMac(a.value.senderMac)]);
    } else {
      const n = decodeNeighbourAdvertisement(eth.payload);
      if (n.ok && !n.value.solicited) garps.push([t, n.value.target, formatMac(n.value.targetMac ?? eth.src)]);
    }
  });
  const s = createSocket(familyOf(o.vip) === 6 ? 'udp6' : 'udp4');
  s.on('message', (m) => replies.push([Date.now(), m.toString().split(' ')[0]!]));
  await new Promise<void>((r) => s.bind(0, () => r()));
  let seq = 0;
  const timer = setInterval(() => s.send(String(seq++), o.port, o.vip, () => {}), o.everyMs);
  emit('probing');
  await new Promise((r) => setTimeout(r, o.durationMs));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 50));
  io.close();
  s.close();
  process.stdout.write(JSON.stringify({ ev: 'result', sent: seq, replies, garps }) + '\n');
  process.exit(0);
}

interface WatchOpts {
  iface: string;
  src4: string;
  src6: string;
  vips: string[];
  everyMs: number;
  durationMs: number;
}

async function runWatch(o: WatchOpts) {
  const io = openNativePacketIo(o.iface, undefined, { announcerFilter: false }); // replies and advertisements too
  const answers: Array<[number, number, string, string]> = []; // round, time, vip, mac
  let round = 0;
  io.onFrame((f) => {
    const eth = decodeEthernet(f);
    if (!eth) return;
    if (eth.etherType === ETHERTYPE_ARP) {
      const a = decodeArp(eth.payload);
      if (a.ok && a.value.op === ARP_REPLY && a.value.targetIp === o.src4) answers.push([round, Date.now(), a.value.senderIp, formatMac(a.value.senderMac)]);
    } else {
      const n = decodeNeighbourAdvertisement(eth.payload);
      if (n.ok && n.value.solicited && n.value.dst === o.src6) answers.push([round, Date.now(), n.value.target, formatMac(n.value.targetMac ?? eth.src)]);
    }
  });
  const ask = () => {
    round++;
    for (const vip of o.vips) {
      if (familyOf(vip) === 4) {
        io.send(encodeEthernet({ dst: BROADCAST_MAC, src: io.mac, etherType: ETHERTYPE_ARP, payload: encodeArp({ op: ARP_REQUEST, senderMac: io.mac, senderIp: o.src4, targetMac: ZERO_MAC, targetIp: vip }) }));
      } else {
        io.send(encodeNeighbourSolicitation({ src: o.src6, dst: solicitedNodeAddress(vip), target: vip, sourceMac: io.mac }, io.mac));
      }
    }
  };
  const timer = setInterval(ask, o.everyMs);
  emit('watching');
  await new Promise((r) => setTimeout(r, o.durationMs));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 50));
  io.close();
  process.stdout.write(JSON.stringify({ ev: 'result', rounds: round, answers }) + '\n');
  process.exit(0);
}

function runRespond(o: { name: string; vips: string[]; port: number }) {
  for (const vip of o.vips) {
    const s = createSocket(familyOf(vip) === 6 ? 'udp6' : 'udp4');
    s.on('message', (msg, r) => s.send(Buffer.concat([Buffer.from(o.name + ' '), msg]), r.port, r.address));
    s.bind(o.port, vip); // needs net.ipv4.ip_nonlocal_bind=1 where the VIP is not local yet
  }
  emit('started');
}

if (mode === 'node') await runNode(opts as NodeOpts);
else if (mode === 'respond') runRespond(opts);
else if (mode === 'probe') await runProbe(opts as ProbeOpts);
else if (mode === 'watch') await runWatch(opts as WatchOpts);
else {
  console.error('usage: l2-node-runner.ts node|probe|watch JSON');
  process.exit(2);
}
