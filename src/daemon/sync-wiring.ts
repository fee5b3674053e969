// Composition of connection-state sync (docs/sync.md): the sync thread on the XDP data path's pins,
// and the SNAT addresses this node answers ARP/NDP for — its own, and those of dead members it
// adopts (src/sync/snat.ts), re-decided on every membership change. The sync peers follow the
// member set live (Kubernetes: edgelb's ready pods), and the SNAT map follows the desired state.
// The SNAT announcer has its own packet socket and its own metrics registry (the VIP announcer
// keeps the edgelb_l2_* names).
import { dirname, join } from 'node:path';
import type { KeyRing } from '../lib/cluster-keys.js';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Membership } from '../cluster/membership.js';
import { DEFAULT_OBJECT_PATH, type XdpDataplane } from '../dataplane/xdp.js';
import { L2Announcer } from '../l2/announcer.js';
import { openNativePacketIo } from '../l2/native-packet-io.js';
import { errorMessage } from '../lib/errors.js';
import type { DesiredState } from '../model/desired-state.js';
import { ConnSync, type SyncView } from '../sync/conn-sync.js';
import { heldSnatAddresses } from '../sync/snat.js';

export interface SyncHandle {
  view(): SyncView & { snatHeld: string[] };
  /** A new desired state: the SNAT addresses of the other nodes follow it live (Kubernetes: their
   *  Node annotations); this node's own address is node-level (the XDP program's source). */
  update(state: DesiredState): void;
  /** A new cluster key ring (the key file changed): sign with its primary, accept any. */
  setKeys(keys: KeyRing): void;
  stop(): Promise<void>;
}

/** This node's SNAT address (IPv4) when connection sync gives it one. */
export function ownSnatAddress(s: DesiredState): string | undefined {
  return s.cluster?.sync?.snatAddresses[s.node.name];
}

/** This node's IPv6 SNAT address when connection sync gives it one. */
export function ownSnatAddress6(s: DesiredState): string | undefined {
  return s.cluster?.sync?.snatAddresses6?.[s.node.name];
}

/** Every SNAT address this node answers ARP/NDP for now: its own, and dead members' it adopts (each family apart). */
export function heldSnat(sync: { snatAddresses: Record<string, string>; snatAddresses6?: Record<string, string> }, live: readonly string[], self: string): string[] {
  return [...heldSnatAddresses(sync.snatAddresses, live, self), ...heldSnatAddresses(sync.snatAddresses6 ?? {}, live, self)];
}

export async function startSync(o: { initial: DesiredState; dataplane: XdpDataplane; membership: Membership; logger: Logger; registry: Registry; keys?: KeyRing }): Promise<SyncHandle | undefined> {
  const c = o.initial.cluster;
  if (!c?.sync || !c.keyFile) return undefined;
  const log = o.logger.child({ subsystem: 'sync' });
  if (!o.keys) {
    // Kubernetes mode: the key Secret is not mounted; heartbeats refuse peers too
    log.error({ keyFile: c.keyFile }, `connection sync needs the cluster key (${c.keyFile} is missing): this node runs without it`);
    return undefined;
  }
  const members = () => (typeof o.membership.memberKeys === 'function' ? o.membership.memberKeys() : c.members);
  const sync = new ConnSync({
    self: o.initial.node.name,
    listen: c.listen,
    members: members(),
    port: c.sync.port,
    key: o.keys,
    pinDir: o.dataplane.pinDir,
    clockObject: join(dirname(DEFAULT_OBJECT_PATH), 'ct_sync.bpf.o'),
    refreshMs: c.sync.refreshMs,
    queueLimit: c.sync.queueLimit,
    logger: o.logger,
    registry: o.registry,
  });
  try {
    await sync.start();
  } catch (e) {
    // contained: the node serves on without sync (its flows die with it, as before sync)
    log.error({ err: errorMessage(e) }, 'connection sync could not start: this node runs without it');
    await sync.stop();
    return undefined;
  }
  const self = o.initial.node.name;
  const own = [ownSnatAddress(o.initial), ownSnatAddress6(o.initial)].join();
  let announcer: L2Announcer | undefined;
  let announcerFailed = false;
  let held: string[] = [];
  let snat = { snatAddresses: c.sync.snatAddresses, snatAddresses6: c.sync.snatAddresses6 ?? {} };
  const update = () => {
    const next = heldSnat(snat, o.membership.live(), self);
    if (next.join() === held.join()) return;
    if (!announcer && !announcerFailed) {
      try {
        announcer = new L2Announcer({ iface: o.initial.node.interface, logger: o.logger, registry: new Registry(), io: openNativePacketIo(o.initial.node.interface) });
        announcer.start();
      } catch (e) {
        announcerFailed = true;
        log.error({ err: errorMessage(e) }, 'SNAT address announcer failed: replies to this node\'s SNAT address will not arrive');
      }
    }
    if (!announcer) return;
    const mine = [snat.snatAddresses[self], snat.snatAddresses6[self]];
    const adopted = next.filter((a) => !mine.includes(a));
    log.info({ held: next, adopted }, adopted.length ? `answering for ${adopted.length} SNAT address(es) of dead member(s): their flows' replies come here` : 'answering for this node\'s SNAT address(es) only');
    held = next;
    announcer.setOwned(next);
  };
  const onChange = () => {
    try {
      sync.setMembers(members());
    } catch (e) {
      log.error({ err: errorMessage(e) }, 'connection sync peers not updated: keeping the previous set');
    }
    update();
  };
  update();
  o.membership.on('change', onChange);
  return {
    view: () => ({ ...sync.view(), snatHeld: [...held] }),
    setKeys: (keys) => sync.setKeys(keys),
    update(state) {
      const s = state.cluster?.sync;
      if (!s) return;
      if ([ownSnatAddress(state), ownSnatAddress6(state)].join() !== own)
        log.warn({ snat4: ownSnatAddress(state), snat6: ownSnatAddress6(state) }, 'this node\'s SNAT address changed: the data path takes it at the next restart (the others\' follow live)');
      const next = { snatAddresses: s.snatAddresses, snatAddresses6: s.snatAddresses6 ?? {} };
      if (JSON.stringify(next) === JSON.stringify(snat)) return;
      snat = next;
      update();
    },
    async stop() {
      o.membership.off('change', onChange);
      announcer?.stop();
      await sync.stop();
    },
  };
}
