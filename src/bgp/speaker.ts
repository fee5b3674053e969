// BgpSpeaker: the BGP side of an edgelb node. Holds the sessions (one per configured peer), the
// listener, and the declarative advertisement set; computes each peer's adj-RIB-out through its
// export policies with next-hop self per address family. Callers say what should be advertised
// (setAdvertisements), never "add route".
import { EventEmitter } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import { canonicalIp, familyOf, formatPrefix, parsePrefix, unmapIpv4 } from '../lib/addr.js';
import type { PeerSpec, PolicySpec } from '../model/desired-state.js';
import type { Advertisement } from '../model/engine-inputs.js';
import { BgpState, validHoldTime, type StateReason } from './fsm.js';
import { Session, type Family, type LastError, type Negotiated } from './session.js';
import type { DesiredRoutes } from './adj-rib-out.js';
import { encodeTable, exportRoutes, PLAIN, type AdAttrs, type AdTable } from './export.js';
import { normalizeCommunity, normalizeLargeCommunity, validatePolicy } from './policy.js';
import { nativeSocketFactory, type BgpListener, type BgpNative, type BgpSocketFactory } from './sockets.js';
import { acceptedTtl } from './session-conn.js';
import { specKey, validatePeer, type PeerRefusal } from './peer-check.js';

export { MAX_MD5_KEY_BYTES, validatePeer, type PeerRefusal } from './peer-check.js';
import { CeaseSubcode, ErrorCode } from './wire/index.js';

/** Canonical text of a prefix: a fast path for the common canonical IPv4 form, else via lib/addr. */
export function canonicalPrefix(p: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(p);
  if (m) {
    const o = [m[1]!, m[2]!, m[3]!, m[4]!];
    const len = Number(m[5]);
    if (len <= 32 && o.every((x) => x.length === 1 || (x[0] !== '0' && Number(x) <= 255))) {
      const v = ((Number(o[0]) << 24) | (Number(o[1]) << 16) | (Number(o[2]) << 8) | Number(o[3])) >>> 0;
      const host = len === 32 ? 0 : len === 0 ? 0xffffffff : 0xffffffff >>> len;
      if ((v & host) === 0) return p;
    }
  }
  return formatPrefix(parsePrefix(p));
}

export type { Advertisement };

export interface BgpSpeakerOptions {
  asn: number;
  routerId: string;
  /** 179 by default in the config; 0 = no listener (connect only). */
  listenPort: number;
  /** Address to listen on (default all: "::" which also takes IPv4). */
  listenAddress?: string;
  /** Next hops per family when the session's own local address is of the other family. */
  localAddresses?: { ipv4?: string; ipv6?: string };
  logger: Logger;
  registry: Registry;
  /** The native addon: sockets with TCP MD5 / TTL / GTSM; plain node:net without it. */
  native?: BgpNative;
  /** Or a socket factory directly (tests). */
  sockets?: BgpSocketFactory;
  /** This process is a restart (sets the graceful-restart R bit on the first session). */
  restarting?: boolean;
  /** The data path was taken over intact (sets the graceful-restart F bit). */
  forwardingPreserved?: boolean;
}

export interface NeighborView {
  address: string;
  port: number;
  asn: number;
  localAsn: number;
  state: BgpState;
  /** Seconds since Established (0 when not Established). */
  uptime: number;
  establishedAt: string | null;
  lastStateChange: { at: string; reason: StateReason };
  lastError: LastError | null;
  /** Why the latest configuration of this peer was refused (it keeps what it had), or null. */
  configError: string | null;
  prefixesSent: number;
  prefixesReceived: number;
  /** Received prefixes per family (counted, attributes kept only with keepReceived). */
  prefixesReceivedByFamily: { ipv4: number; ipv6: number };
  /** Announcements dropped over maxPrefixes on this session. */
  prefixesDropped: number;
  /** keepReceived: bytes of kept attributes, and whether the budget cut some off. */
  received: { kept: boolean; bytes: number; truncated: boolean };
  /** Prefixes waiting to be sent or withdrawn. */
  pending: number;
  endOfRibSent: boolean;
  endOfRibReceived: Family[];
  passive: boolean;
  capabilities: {
    families: Family[];
    as4: boolean;
    routeRefresh: boolean;
    extendedMessage: boolean;
    gracefulRestart: boolean;
    peerGracefulRestart: Negotiated['peerGracefulRestart'] | null;
    holdTime: number;
    keepalive: number;
    remoteId: string;
  } | null;
}

interface PeerEntry {
  spec: PeerSpec;
  key: string; // identity of the spec: a change resets the session
  session: Session;
  /** Why the latest spec for this address was refused (the entry keeps what it had), or null. */
  configError: LastError | null;
}

export class BgpSpeaker extends EventEmitter {
  private readonly o: BgpSpeakerOptions;
  private readonly log: Logger;
  private peers = new Map<string, PeerEntry>();
  private policies = new Map<string, PolicySpec>();
  /** The advertisement set, compact (export.ts); replaced, never mutated (peers' views read it). */
  private ads: AdTable = { ads: new Map(), count4: 0, count6: 0 };
  private server: net.Server | null = null;
  private listenKeys: ((keys: { address: string; password: string }[]) => void) | null = null;
  private secureAccepted: BgpListener['secureAccepted'] | null = null;
  private reconcileDone = false;
  private readonly sockets: BgpSocketFactory | undefined;
  private stopped = false;
  private running = false;
  private readonly m: {
    up: Gauge<'peer'>;
    updatesSent: Counter<'peer'>;
    updatesReceived: Counter<'peer'>;
    notificationsSent: Counter<'peer'>;
    notificationsReceived: Counter<'peer'>;
    prefixesAdvertised: Gauge<'peer'>;
    prefixesReceived: Gauge<'peer'>;
    transitions: Counter<'peer' | 'to'>;
  };

  constructor(o: BgpSpeakerOptions) {
    super();
    if (!Number.isInteger(o.asn) || o.asn < 1 || o.asn > 0xffffffff) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `asn must be 1..4294967295, got ${o.asn}`);
    if (familyOf(o.routerId) !== 4) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `routerId must be an IPv4 address, got ${o.routerId}`);
    this.o = o;
    this.log = o.logger.child({ subsystem: 'bgp' });
    this.sockets = o.sockets ?? (o.native ? nativeSocketFactory(o.native) : undefined);
    const r = [o.registry];
    this.m = {
      up: new Gauge({ name: 'edgelb_bgp_session_up', help: '1 when the BGP session to the peer is Established, else 0', labelNames: ['peer'], registers: r }),
      updatesSent: new Counter({ name: 'edgelb_bgp_updates_sent_total', help: 'UPDATE messages sent (End-of-RIB included)', labelNames: ['peer'], registers: r }),
      updatesReceived: new Counter({ name: 'edgelb_bgp_updates_received_total', help: 'UPDATE messages received', labelNames: ['peer'], registers: r }),
      notificationsSent: new Counter({ name: 'edgelb_bgp_notifications_sent_total', help: 'NOTIFICATION messages sent', labelNames: ['peer'], registers: r }),
      notificationsReceived: new Counter({ name: 'edgelb_bgp_notifications_received_total', help: 'NOTIFICATION messages received', labelNames: ['peer'], registers: r }),
      // read at scrape time from the adj-RIB-out: what the peer has from us, 0 unless Established
      prefixesAdvertised: new Gauge({
        name: 'edgelb_bgp_prefixes_advertised',
        help: 'Prefixes the peer has from us (0 unless Established)',
        labelNames: ['peer'],
        registers: r,
        collect: () => {
          for (const [addr, e] of this.peers) this.m.prefixesAdvertised.set({ peer: addr }, e.session.state === BgpState.Established ? e.session.ribOut.sentCount : 0);
        },
      }),
      prefixesReceived: new Gauge({ name: 'edgelb_bgp_prefixes_received', help: 'Prefixes in the adj-RIB-in of the peer', labelNames: ['peer'], registers: r }),
      transitions: new Counter({ name: 'edgelb_bgp_state_transitions_total', help: 'BGP FSM state changes, by new state', labelNames: ['peer', 'to'], registers: r }),
    };
  }

  /** Start the listener (when listenPort > 0) and the sessions configured so far. */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.o.listenPort > 0 && !this.server) {
      const onConn = (s: net.Socket) => this.onIncoming(s);
      const host = this.o.listenAddress ?? '::';
      if (this.sockets) {
        // the addon's listener carries a TCP MD5 key per peer (keys follow setPeers)
        const l = await this.sockets.listen({ port: this.o.listenPort, host, keys: this.md5Keys() });
        this.server = l.server;
        this.listenKeys = l.setKeys;
        this.secureAccepted = l.secureAccepted;
        this.server.on('connection', onConn);
      } else {
        this.server = net.createServer(onConn);
        const server = this.server;
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port: this.o.listenPort, host, ...(host === '::' ? { ipv6Only: false } : {}) }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      }
      this.server.on('error', (e) => this.log.error({ err: errorMessage(e) }, 'BGP listener error'));
      this.log.info({ port: this.o.listenPort }, 'BGP listener started');
    }
    this.running = true;
    for (const p of this.peers.values()) if (p.session.state === BgpState.Idle && !this.refusedNew(p)) p.session.start();
  }

  /** Port the listener is bound to (useful with listenPort chosen by the OS in tests). */
  get listenPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /** A peer that was refused when first configured: listed, never started. */
  private refusedNew(p: PeerEntry): boolean {
    return p.configError !== null && p.key.startsWith('refused:');
  }

  private md5Keys(): { address: string; password: string }[] {
    return [...this.peers.values()].filter((p) => p.spec.password && !this.refusedNew(p)).map((p) => ({ address: p.spec.address, password: p.spec.password! }));
  }

  private onIncoming(s: net.Socket): void {
    const remote = s.remoteAddress ? canonicalIp(unmapIpv4(s.remoteAddress)) : '';
    const p = this.peers.get(remote);
    if (!p || this.stopped) {
      this.log.info({ remote }, 'refusing BGP connection from an address that is not a configured peer');
      s.destroy();
      return;
    }
    if (p.spec.password && !this.listenKeys) {
      // without the addon's keyed listener the connection is unauthenticated: refuse it
      this.log.warn({ remote }, 'refusing unauthenticated connection from an MD5 peer');
      s.destroy();
      return;
    }
    // GTSM / multihop TTL on the accepted socket, before its OPEN is read (RFC 5082 §3)
    const ttl = acceptedTtl(p.spec, p.spec.asn === this.o.asn);
    if (ttl && (this.secureAccepted || ttl.minTtl !== undefined)) {
      // without the addon a GTSM peer is refused (its TTL cannot be checked); a multihop TTL is not security
      const why = this.secureAccepted ? this.secureAccepted(s, ttl) : 'GTSM needs the native addon';
      if (why) {
        this.log.warn({ remote, reason: why }, 'refusing BGP connection: TTL security');
        s.destroy();
        return;
      }
    }
    p.session.acceptIncoming(s);
  }

  /**
   * Set the configured peers and policies: everything is validated first, then applied. Unchanged
   * peers are untouched; a changed peer is reset (only that one); a removed peer gets Cease/Peer
   * De-configured; a policy change re-evaluates the export of the peers that use it, without a reset.
   * Containment: a policy that does not validate (validatePolicy) is refused and its last good
   * version stays in force; a peer that cannot be configured (bad field, over-long MD5 key, a refused
   * policy with no good version) keeps what it had (or is not started when new) and shows the reason
   * as its lastError in neighbors(). Never throws for one bad peer or policy; returns the refusals.
   */
  setPeers(peers: PeerSpec[], policies: PolicySpec[]): PeerRefusal[] {
    const refusals: PeerRefusal[] = [];
    // ---- validate ----
    const oldPolicies = this.policies;
    const nextPolicies = new Map<string, PolicySpec>();
    const badPolicies = new Map<string, string[]>();
    for (const pol of policies) {
      const issues = validatePolicy(pol);
      if (issues.length === 0) {
        nextPolicies.set(pol.name, pol);
        continue;
      }
      const last = oldPolicies.get(pol.name);
      this.log.warn({ policy: pol.name, issues, keptLastGood: !!last }, 'BGP policy refused');
      refusals.push({ address: `policy/${pol.name}`, issues });
      if (last) nextPolicies.set(pol.name, last);
      else badPolicies.set(pol.name, issues);
    }
    const want = new Map<string, PeerSpec>();
    const refusedAt = new Map<string, { spec: PeerSpec; err: LastError }>();
    for (const p of peers) {
      const issues = validatePeer(p, badPolicies);
      if (issues.length > 0) {
        const address = familyOf(p.address) ? canonicalIp(p.address) : String(p.address);
        refusals.push({ address, issues });
        this.log.warn({ peer: address, issues }, 'BGP peer refused: keeping what it had');
        const err: LastError = { at: new Date().toISOString(), class: 'admin', reason: 'config-refused', message: `peer refused: ${issues.join('; ')}` };
        if (familyOf(p.address)) refusedAt.set(address, { spec: { ...p, address }, err });
        continue;
      }
      want.set(canonicalIp(p.address), { ...p, address: canonicalIp(p.address) });
    }
    // ---- apply ----
    this.policies = nextPolicies;
    const replaced = new Set<string>();
    for (const [addr, e] of this.peers) {
      const refused = refusedAt.get(addr);
      if (refused) {
        e.configError = refused.err; // the running session keeps its last good spec
        continue;
      }
      const w = want.get(addr);
      if (!w || specKey(w) !== e.key) {
        this.log.info({ peer: addr, why: w ? 'changed' : 'removed' }, w ? 'peer changed: resetting its session' : 'peer removed');
        void e.session.stop('shutdown', { code: ErrorCode.CEASE, subcode: w ? CeaseSubcode.OTHER_CONFIGURATION_CHANGE : CeaseSubcode.PEER_DECONFIGURED });
        if (w) {
          replaced.add(addr); // keeps its place in the map (and in neighbors())
        } else {
          this.peers.delete(addr);
          this.removeMetrics(addr);
        }
      }
    }
    for (const [addr, spec] of want) {
      const e = this.peers.get(addr);
      if (e && !replaced.has(addr)) {
        const policyChanged =
          e.spec.exportPolicies.join('\0') !== spec.exportPolicies.join('\0') ||
          spec.exportPolicies.some((n) => JSON.stringify(oldPolicies.get(n)) !== JSON.stringify(this.policies.get(n)));
        e.spec = spec;
        e.configError = null;
        if (policyChanged) this.refreshPeer(e);
        continue;
      }
      const entry = this.newEntry(spec, null);
      if (this.running) entry.session.start();
    }
    // a refused new peer is listed (with its reason) but never started
    for (const [addr, r] of refusedAt) if (!this.peers.has(addr)) this.newEntry(r.spec, r.err);
    this.applyListenKeys();
    return refusals;
  }

  private newEntry(spec: PeerSpec, configError: LastError | null): PeerEntry {
    const session = new Session({
      peer: spec,
      localAsn: this.o.asn,
      routerId: this.o.routerId,
      logger: this.log,
      hooks: this.hooks,
      ...(this.sockets ? { sockets: this.sockets } : {}),
      restarting: this.o.restarting ?? false,
      forwardingPreserved: this.o.forwardingPreserved ?? false,
    });
    const entry: PeerEntry = { spec, key: configError ? `refused:${Date.now()}` : specKey(spec), session, configError };
    this.peers.set(spec.address, entry);
    this.m.up.set({ peer: spec.address }, 0);
    this.m.prefixesAdvertised.set({ peer: spec.address }, 0);
    if (this.reconcileDone) session.allowEndOfRib();
    return entry;
  }

  /** MD5 keys of the listening socket follow the peers; a key the kernel refuses marks its peer. */
  private applyListenKeys(): void {
    if (!this.listenKeys) return;
    try {
      this.listenKeys(this.md5Keys());
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, 'could not set the listener\'s MD5 keys');
    }
  }

  /** The full set of advertisements; only the difference reaches each peer. */
  setAdvertisements(ads: Advertisement[]): void {
    const next = new Map<string, AdAttrs>();
    let count6 = 0;
    for (const a of ads) {
      const key = canonicalPrefix(a.prefix);
      const had = next.has(key);
      if (a.med === undefined && a.localPref === undefined && !a.communities && !a.largeCommunities) next.set(key, PLAIN);
      else {
        next.set(
          key,
          Object.freeze({
            ...(a.med !== undefined ? { med: a.med } : {}),
            ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
            ...(a.communities ? { communities: Object.freeze(a.communities.map(normalizeCommunity)) } : {}),
            ...(a.largeCommunities ? { largeCommunities: Object.freeze(a.largeCommunities.map(normalizeLargeCommunity)) } : {}),
          }),
        );
      }
      if (!had && key.includes(':')) count6++;
    }
    const table: AdTable = { ads: next, count4: next.size - count6, count6 };
    this.ads = table;
    for (const e of this.peers.values()) this.refreshPeer(e);
    // the table's wire form, ready before the next session's initial transfer (bgp/export.ts);
    // after the changes just queued for the peers, which go out first
    setImmediate(() => {
      if (this.ads === table) encodeTable(table);
    });
  }

  /** The first full reconcile is done: End-of-RIB may go out once each adj-RIB-out has drained. */
  setInitialReconcileDone(): void {
    this.reconcileDone = true;
    for (const e of this.peers.values()) e.session.allowEndOfRib();
  }

  /** Recompute one peer's desired routes (only matters while Established). */
  private refreshPeer(e: PeerEntry): void {
    const s = e.session;
    if (s.state !== BgpState.Established || !s.negotiated) return;
    let routes: DesiredRoutes;
    try {
      routes = this.routesFor(e);
    } catch (err) {
      // never reached with validated policies; if it is, this peer keeps what it was sent
      this.log.error({ peer: e.spec.address, err: errorMessage(err) }, 'could not compute the routes for a peer');
      e.configError = { at: new Date().toISOString(), class: 'admin', reason: 'config-refused', message: `export failed: ${errorMessage(err)}` };
      return;
    }
    s.setRoutes(routes);
  }

  /**
   * Next-hop self for one family: the session's local address when it is of that family, else the
   * configured localAddresses, else a global address of that family on the interface that holds
   * the session's local address (an IPv6 VIP over an IPv4 session gets the same interface's IPv6).
   */
  private nextHopFor(s: Session, family: 4 | 6): string | undefined {
    const local = s.localAddress;
    if (local && familyOf(local) === family && !local.startsWith('fe80')) return local;
    const configured = family === 4 ? this.o.localAddresses?.ipv4 : this.o.localAddresses?.ipv6;
    if (configured || !local) return configured;
    for (const addrs of Object.values(os.networkInterfaces())) {
      if (!addrs?.some((a) => a.address === local)) continue;
      const other = addrs.find((a) => (family === 6 ? a.family === 'IPv6' && !a.address.toLowerCase().startsWith('fe80') : a.family === 'IPv4') && !a.internal);
      if (other) return canonicalIp(other.address);
    }
    return undefined;
  }

  private routesFor(e: PeerEntry): DesiredRoutes {
    const s = e.session;
    const neg = s.negotiated!;
    return exportRoutes(this.ads, {
      policies: e.spec.exportPolicies.map((n) => this.policies.get(n)).filter((p): p is PolicySpec => !!p),
      ibgp: e.spec.asn === this.o.asn,
      localAsn: this.o.asn,
      address: e.spec.address,
      asn: e.spec.asn,
      nextHop: {
        4: neg.families.includes('ipv4') ? this.nextHopFor(s, 4) : undefined,
        6: neg.families.includes('ipv6') ? this.nextHopFor(s, 6) : undefined,
      },
    });
  }

  private readonly hooks = {
    onState: (s: Session, from: BgpState, to: BgpState, reason: StateReason) => {
      const peer = s.peer.address;
      if (!this.peers.has(peer) || this.peers.get(peer)!.session !== s) return;
      this.m.transitions.inc({ peer, to });
      this.m.up.set({ peer }, to === BgpState.Established ? 1 : 0);
      if (to !== BgpState.Established) this.m.prefixesAdvertised.set({ peer }, 0);
      this.emit('state', { peer, from, to, reason });
    },
    onEstablished: (s: Session) => {
      const e = this.peers.get(s.peer.address);
      if (!e || e.session !== s) return;
      this.refreshPeer(e);
      this.emit('established', { peer: s.peer.address });
    },
    onDown: (s: Session) => {
      if (this.peers.get(s.peer.address)?.session === s) {
        this.m.prefixesAdvertised.set({ peer: s.peer.address }, 0);
        this.m.prefixesReceived.set({ peer: s.peer.address }, 0);
      }
      this.emit('down', { peer: s.peer.address });
    },
    onMessage: (s: Session, dir: 'sent' | 'received', kind: string) => {
      const peer = s.peer.address;
      if (this.peers.get(peer)?.session !== s) return;
      if (kind === 'update' || kind === 'eor') (dir === 'sent' ? this.m.updatesSent : this.m.updatesReceived).inc({ peer });
      else if (kind === 'notification') (dir === 'sent' ? this.m.notificationsSent : this.m.notificationsReceived).inc({ peer });
      if (dir === 'received' && kind === 'update') this.m.prefixesReceived.set({ peer }, s.ribIn.size);
    },
  };

  private removeMetrics(peer: string): void {
    for (const g of [this.m.up, this.m.updatesSent, this.m.updatesReceived, this.m.notificationsSent, this.m.notificationsReceived, this.m.prefixesAdvertised, this.m.prefixesReceived]) {
      (g as Gauge<'peer'>).remove({ peer });
    }
    for (const to of Object.values(BgpState)) this.m.transitions.remove({ peer, to });
  }

  /** BFD saw peer `address` go Down: take its BGP session down now (see Session.bfdDown). */
  bfdDown(address: string): boolean {
    const e = this.peers.get(address);
    if (!e) return false;
    this.log.warn({ peer: address }, `bgp ${address}: BFD session down, ending the BGP session`);
    return e.session.bfdDown();
  }

  neighbors(): NeighborView[] {
    const now = Date.now();
    return [...this.peers.values()].map(({ spec, session: s, configError }) => {
      const n = s.negotiated;
      const up = s.state === BgpState.Established && s.establishedAt !== null;
      return {
        address: spec.address,
        port: spec.port,
        asn: spec.asn,
        localAsn: this.o.asn,
        state: s.state,
        uptime: up ? Math.floor((now - s.establishedAt!) / 1000) : 0,
        establishedAt: up ? new Date(s.establishedAt!).toISOString() : null,
        lastStateChange: { at: new Date(s.lastStateChange.at).toISOString(), reason: s.lastStateChange.reason },
        lastError: configError ?? s.lastError,
        configError: configError?.message ?? null,
        prefixesSent: up ? s.ribOut.sentCount : 0,
        prefixesReceived: s.ribIn.size,
        prefixesReceivedByFamily: s.ribIn.counts(),
        prefixesDropped: s.ribIn.dropped,
        received: { kept: spec.keepReceived ?? false, bytes: s.ribIn.keptBytes, truncated: s.ribIn.truncated },
        pending: s.ribOut.pending,
        endOfRibSent: s.endOfRibSent,
        endOfRibReceived: [...s.endOfRibReceived],
        passive: spec.passive,
        capabilities:
          up && n
            ? {
                families: n.families,
                as4: n.as4,
                routeRefresh: n.routeRefresh,
                extendedMessage: n.extendedMessage,
                gracefulRestart: n.gracefulRestart,
                peerGracefulRestart: n.peerGracefulRestart ?? null,
                holdTime: n.holdTime,
                keepalive: n.keepalive,
                remoteId: n.remoteId,
              }
            : null,
      };
    });
  }

  /**
   * The advertised prefixes that at least one Established session has actually been sent (its
   * adj-RIB-out records it), each with those peers' addresses: what this node carries by BGP now.
   */
  carried(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const up = [...this.peers.values()].filter((e) => e.session.state === BgpState.Established);
    if (up.length === 0) return out;
    for (const prefix of this.ads.ads.keys()) {
      const peers = up.filter((e) => e.session.ribOut.has(prefix)).map((e) => e.spec.address);
      if (peers.length > 0) out.set(prefix, peers);
    }
    return out;
  }

  /** Routes received from a peer with their attributes: only for peers with keepReceived (visibility). */
  receivedRoutes(peer: string): ReturnType<Session['ribIn']['list']> {
    return this.peers.get(canonicalIp(peer))?.session.ribIn.list() ?? [];
  }

  /**
   * Stop every session and the listener. 'graceful': close the sockets WITHOUT a NOTIFICATION so
   * routers keep our routes (graceful restart; peers without it get Cease as in 'shutdown').
   * 'shutdown': Cease / Administrative Shutdown.
   */
  async stop(mode: 'graceful' | 'shutdown'): Promise<void> {
    this.stopped = true;
    this.running = false;
    const server = this.server;
    this.server = null;
    const closing = [...this.peers.values()].map((e) => e.session.stop(mode === 'graceful' && e.spec.gracefulRestart ? 'graceful' : 'shutdown'));
    if (server) closing.push(new Promise<void>((r) => server.close(() => r())));
    await Promise.all(closing);
    this.log.info({ mode }, 'BGP speaker stopped');
  }
}
