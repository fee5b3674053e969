// L2Announcer: answers ARP requests and IPv6 neighbour solicitations for the VIPs this node owns,
// from the interface's MAC, and sends gratuitous ARP / unsolicited NA bursts and refreshes.
// Declarative: setOwned(vips) is the whole truth; giving a VIP up stops answering at once.
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { canonicalIp, familyOf } from '../lib/addr.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { ARP_REQUEST, arpReplyFrame, decodeArp, gratuitousArpFrame } from './arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, decodeEthernet, formatMac, macEqual } from './ethernet.js';
import {
  decodeNeighbourSolicitation,
  multicastMac,
  neighbourAdvertisementReply,
  solicitedNodeAddress,
  unsolicitedAdvertisementFrame,
} from './ndp.js';
import type { PacketIo } from './packet-io.js';
import { IgnoreReason } from './reasons.js';

export interface L2AnnouncerOptions {
  iface: string;
  logger: Logger;
  registry: Registry;
  io: PacketIo;
  /** Gratuitous ARP / unsolicited NA sent when a VIP is taken (default 3). */
  garpCount?: number;
  /** Spacing of that burst (default 100 ms). */
  garpIntervalMs?: number;
  /** Re-announce every owned VIP this often; 0 = never (default 10 000 ms). */
  refreshIntervalMs?: number;
}

/** What the announcer did with one frame. */
export type FrameResult =
  | { action: 'reply'; proto: 'arp' | 'ndp'; vip: string; frame: Uint8Array }
  | { action: 'ignore'; reason: IgnoreReason; proto?: 'arp' | 'ndp' };

interface OwnedVip {
  vip: string;
  family: 4 | 6;
  burstTimer?: NodeJS.Timeout;
  refreshTimer?: NodeJS.Timeout;
}

export class L2Announcer {
  readonly iface: string;
  private readonly log: Logger;
  private readonly io: PacketIo;
  private readonly garpCount: number;
  private readonly garpIntervalMs: number;
  private readonly refreshIntervalMs: number;
  private readonly owned = new Map<string, OwnedVip>();
  /** Solicited-node group MAC (hex) → number of owned VIPs that need it. */
  private readonly groups = new Map<string, number>();
  private running = false;
  private readonly mRequests: Counter<'proto'>;
  private readonly mReplies: Counter<'proto'>;
  private readonly mGratuitous: Counter<'proto'>;
  private readonly mIgnored: Counter<'reason'>;
  private readonly mOwned: Gauge;

  constructor(opts: L2AnnouncerOptions) {
    this.iface = opts.iface;
    this.log = opts.logger.child({ subsystem: 'l2', iface: opts.iface });
    this.io = opts.io;
    this.garpCount = opts.garpCount ?? 3;
    this.garpIntervalMs = opts.garpIntervalMs ?? 100;
    this.refreshIntervalMs = opts.refreshIntervalMs ?? 10_000;
    if (!Number.isInteger(this.garpCount) || this.garpCount < 0) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', 'garpCount must be an integer >= 0');
    if (this.io.mac.length !== 6) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `interface ${opts.iface} has no 6-byte MAC`);
    const registers = [opts.registry];
    this.mRequests = new Counter({ name: 'edgelb_l2_requests_total', help: 'ARP requests and neighbour solicitations seen', labelNames: ['proto'], registers });
    this.mReplies = new Counter({ name: 'edgelb_l2_replies_total', help: 'ARP replies and neighbour advertisements sent in answer', labelNames: ['proto'], registers });
    this.mGratuitous = new Counter({ name: 'edgelb_l2_gratuitous_total', help: 'Gratuitous ARP and unsolicited neighbour advertisements sent', labelNames: ['proto'], registers });
    this.mIgnored = new Counter({ name: 'edgelb_l2_ignored_total', help: 'Frames not answered, by reason', labelNames: ['reason'], registers });
    this.mOwned = new Gauge({ name: 'edgelb_l2_owned_vips', help: 'VIPs this node answers ARP/NDP for', registers });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.io.onFrame((f) => this.receive(f));
    this.narrowNdpFilter();
    this.log.info({ mac: formatMac(this.io.mac) }, 'l2 announcer started');
  }

  /** The VIPs answered for now (canonical form, sorted). */
  ownedVips(): string[] {
    return [...this.owned.keys()].sort();
  }

  /** Declare the whole set of VIPs this node owns; answers only for these from now on. */
  setOwned(vips: readonly string[]): void {
    const want = new Set<string>();
    for (const v of vips) {
      if (!familyOf(v)) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `not an IP address: ${v}`);
      want.add(canonicalIp(v));
    }
    // give up first: a VIP that is no longer ours stops being answered before anything else
    for (const [vip, o] of this.owned) {
      if (want.has(vip)) continue;
      this.owned.delete(vip);
      this.clearTimers(o);
      if (o.family === 6) this.leaveGroup(vip);
      this.log.info({ vip }, 'vip released');
    }
    for (const vip of want) {
      if (this.owned.has(vip)) continue;
      const o: OwnedVip = { vip, family: familyOf(vip) as 4 | 6 };
      this.owned.set(vip, o);
      if (o.family === 6) this.joinGroup(vip);
      this.log.info({ vip }, 'vip taken');
      if (this.running) this.announceBurst(o);
    }
    this.narrowNdpFilter();
    this.mOwned.set(this.owned.size);
  }

  /** Only solicitations for owned IPv6 VIPs reach us (the packet io's kernel filter). */
  private narrowNdpFilter(): void {
    try {
      this.io.setNdpTargets?.([...this.owned.values()].filter((o) => o.family === 6).map((o) => o.vip));
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, 'neighbour solicitation filter not updated');
    }
  }

  /** Stop answering and announcing; releases groups and the socket. */
  stop(): void {
    this.setOwned([]);
    this.running = false;
    this.io.close();
  }

  /** Classify one frame and send the answer, if any. Exposed for tests. */
  receive(frame: Uint8Array): FrameResult {
    const r = this.handle(frame);
    if (r.action === 'reply') {
      try {
        this.io.send(r.frame);
        this.mReplies.inc({ proto: r.proto });
      } catch (e) {
        this.log.warn({ vip: r.vip, err: errorMessage(e) }, 'reply failed');
      }
    } else {
      this.mIgnored.inc({ reason: r.reason });
    }
    return r;
  }

  private handle(frame: Uint8Array): FrameResult {
    if (!this.running) return { action: 'ignore', reason: IgnoreReason.Stopped };
    const eth = decodeEthernet(frame);
    if (!eth) return { action: 'ignore', reason: IgnoreReason.ShortFrame };
    if (eth.etherType !== ETHERTYPE_ARP && eth.etherType !== ETHERTYPE_IPV6) return { action: 'ignore', reason: IgnoreReason.OtherEtherType };
    if (macEqual(eth.src, this.io.mac)) return { action: 'ignore', reason: IgnoreReason.OwnFrame };
    if (eth.etherType === ETHERTYPE_ARP) {
      const a = decodeArp(eth.payload);
      if (!a.ok) return { action: 'ignore', reason: a.reason, proto: 'arp' };
      if (a.value.op !== ARP_REQUEST) return { action: 'ignore', reason: IgnoreReason.ArpNotRequest, proto: 'arp' };
      this.mRequests.inc({ proto: 'arp' });
      const req = a.value;
      if (!this.owned.has(req.targetIp)) return { action: 'ignore', reason: IgnoreReason.NotOwned, proto: 'arp' };
      // a gratuitous announcement or a conflicting host claiming our VIP: never answer it
      if (req.senderIp === req.targetIp) return { action: 'ignore', reason: IgnoreReason.ArpSenderIsTarget, proto: 'arp' };
      return { action: 'reply', proto: 'arp', vip: req.targetIp, frame: arpReplyFrame(req, req.targetIp, this.io.mac) };
    }
    const n = decodeNeighbourSolicitation(eth.payload);
    if (!n.ok) return { action: 'ignore', reason: n.reason, proto: 'ndp' };
    this.mRequests.inc({ proto: 'ndp' });
    if (!this.owned.has(n.value.target)) return { action: 'ignore', reason: IgnoreReason.NotOwned, proto: 'ndp' };
    return { action: 'reply', proto: 'ndp', vip: n.value.target, frame: neighbourAdvertisementReply(n.value, eth.src, n.value.target, this.io.mac) };
  }

  private announceOnce(o: OwnedVip): void {
    if (this.owned.get(o.vip) !== o || !this.running) return;
    try {
      this.io.send(o.family === 4 ? gratuitousArpFrame(o.vip, this.io.mac) : unsolicitedAdvertisementFrame(o.vip, this.io.mac));
      this.mGratuitous.inc({ proto: o.family === 4 ? 'arp' : 'ndp' });
    } catch (e) {
      this.log.warn({ vip: o.vip, err: errorMessage(e) }, 'gratuitous announcement failed');
    }
  }

  private announceBurst(o: OwnedVip): void {
    let left = this.garpCount;
    const step = () => {
      o.burstTimer = undefined;
      if (left <= 0) return;
      left--;
      this.announceOnce(o);
      if (left > 0) o.burstTimer = setTimeout(step, this.garpIntervalMs);
    };
    step();
    if (this.refreshIntervalMs > 0) {
      o.refreshTimer = setInterval(() => this.announceOnce(o), this.refreshIntervalMs);
      o.refreshTimer.unref();
    }
  }

  private clearTimers(o: OwnedVip): void {
    if (o.burstTimer) clearTimeout(o.burstTimer);
    if (o.refreshTimer) clearInterval(o.refreshTimer);
    o.burstTimer = o.refreshTimer = undefined;
  }

  private joinGroup(vip: string): void {
    const mac = multicastMac(solicitedNodeAddress(vip));
    const k = formatMac(mac);
    const n = this.groups.get(k) ?? 0;
    if (n === 0) this.io.addMulticast(mac);
    this.groups.set(k, n + 1);
  }

  private leaveGroup(vip: string): void {
    const mac = multicastMac(solicitedNodeAddress(vip));
    const k = formatMac(mac);
    const n = this.groups.get(k) ?? 0;
    if (n <= 1) {
      this.groups.delete(k);
      if (n === 1) this.io.dropMulticast(mac);
    } else this.groups.set(k, n - 1);
  }
}
