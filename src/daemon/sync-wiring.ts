// Composition of connection-state sync (docs/sync.md): the sync thread on the XDP data path's pins,
// and the SNAT addresses this node answers ARP for — its own, and those of dead members it adopts
// (src/sync/snat.ts), re-decided on every membership change. The SNAT announcer has its own
// packet socket and its own metrics registry (the VIP announcer keeps the edgelb_l2_* names).
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
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
  stop(): Promise<void>;
}

/** This node's SNAT address (IPv4) when connection sync gives it one. */
export function ownSnatAddress(s: DesiredState): string | undefined {
  return s.cluster?.sync?.snatAddresses[s.node.name];
}

export async function startSync(o: { initial: DesiredState; dataplane: XdpDataplane; membership: Membership; logger: Logger; registry: Registry }): Promise<SyncHandle | undefined> {
  const c = o.initial.cluster;
  if (!c?.sync || !c.keyFile) return undefined;
  const log = o.logger.child({ subsystem: 'sync' });
  const sync = new ConnSync({
    self: o.initial.node.name,
    listen: c.listen,
    members: c.members,
    port: c.sync.port,
    key: readFileSync(c.keyFile),
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
  let announcer: L2Announcer | undefined;
  let held: string[] = [];
  const snat = c.sync.snatAddresses;
  const update = () => {
    if (!announcer) return;
    const next = heldSnatAddresses(snat, o.membership.live(), o.initial.node.name);
    if (next.join() === held.join()) return;
    const adopted = next.filter((a) => a !== snat[o.initial.node.name]);
    log.info({ held: next, adopted }, adopted.length ? `answering for ${adopted.length} dead member(s)' SNAT address(es): their flows' replies come here` : 'answering for this node\'s SNAT address only');
    held = next;
    announcer.setOwned(next);
  };
  if (Object.keys(snat).length > 0) {
    try {
      announcer = new L2Announcer({ iface: o.initial.node.interface, logger: o.logger, registry: new Registry(), io: openNativePacketIo(o.initial.node.interface) });
      announcer.start();
      update();
      o.membership.on('change', update);
    } catch (e) {
      log.error({ err: errorMessage(e) }, 'SNAT address announcer failed: replies to this node\'s SNAT address will not arrive');
    }
  }
  return {
    view: () => ({ ...sync.view(), snatHeld: [...held] }),
    async stop() {
      o.membership.off('change', update);
      announcer?.stop();
      await sync.stop();
    },
  };
}
