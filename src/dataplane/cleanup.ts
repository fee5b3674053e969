// cleanupNode: remove what the XDP data path left on this node (`edgelb cleanup`, tests): the
// edgelb XDP program on the uplink (never another program), managed neighbour entries (of
// backends and of gateways toward clients), the per-VIP blackhole routes and their rules, and the pins under /sys/fs/bpf/edgelb/<node>/. Our program is recognised by its pin
// (<pinDir>/edgelb_prog, no CAP_SYS_ADMIN needed); only without one is it looked up by id and name.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { loadNative, type NativeBinding } from '../native/index.js';
import { managedNeighbours, updateNeighbours } from './neighbours.js';
import { removeVipRoutes } from './vip-routes.js';
import { DEFAULT_PIN_BASE } from './xdp.js';
import { openPinnedProg } from './xdp-pins.js';

export const XDP_PROGRAM_NAME = 'edgelb_xdp';

export interface CleanupResult {
  detached: boolean;
  pinsRemoved: number;
  neighboursRemoved: number;
  /** Per-VIP blackhole routes removed (vip-routes.ts). */
  routesRemoved: number;
}

type CleanupNative = Pick<NativeBinding, 'ifNameToIndex' | 'xdpQuery' | 'objGet' | 'progFdById' | 'progInfo' | 'closeFd' | 'xdpDetach' | 'neighUpdate' | 'neighList' | 'routeUpdate' | 'routeList' | 'ruleUpdate'>;

export async function cleanupNode(opts: {
  nodeName: string;
  iface?: string;
  logger: Logger;
  pinBase?: string;
  pinRoot?: string;
  /** The addon (default loadNative()). */
  native?: CleanupNative;
}): Promise<CleanupResult> {
  const log = opts.logger.child({ subsystem: 'dataplane' });
  const result: CleanupResult = { detached: false, pinsRemoved: 0, neighboursRemoved: 0, routesRemoved: 0 };
  const dir = opts.pinRoot ?? join(opts.pinBase ?? DEFAULT_PIN_BASE, opts.nodeName);
  if (opts.iface) {
    const n = opts.native ?? loadNative();
    let ifindex = 0;
    try {
      ifindex = n.ifNameToIndex(opts.iface);
      result.detached = detachOurs(n, ifindex, opts.iface, dir, log);
    } catch (e) {
      log.warn({ iface: opts.iface, err: errorMessage(e) }, 'could not inspect the interface');
    }
    if (ifindex > 0) {
      try {
        const managed = await managedNeighbours(n, ifindex);
        await updateNeighbours(n, ifindex, [], managed, log);
        result.neighboursRemoved = managed.length;
      } catch (e) {
        log.warn({ iface: opts.iface, err: errorMessage(e) }, 'could not remove managed neighbour entries');
      }
    }
    try {
      result.routesRemoved = await removeVipRoutes(n, opts.iface, log);
    } catch (e) {
      log.warn({ iface: opts.iface, err: errorMessage(e) }, 'could not remove the per-VIP blackhole routes');
    }
  }
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)) {
      rmSync(join(dir, f), { recursive: true, force: true });
      result.pinsRemoved++;
    }
    rmSync(dir, { recursive: true, force: true });
    try {
      rmdirSync(dirname(dir)); // the shared base, when no other node's pins are left
    } catch {
      // not empty, or gone
    }
    log.info({ pinDir: dir, removed: result.pinsRemoved }, 'edgelb BPF pins removed');
  }
  return result;
}

/** Detach the edgelb program from ifindex in whichever mode it is attached; never another program. */
function detachOurs(n: CleanupNative, ifindex: number, iface: string, pinDir: string, log: Logger): boolean {
  const q = n.xdpQuery(ifindex);
  let detached = false;
  const pinned = openPinnedProg(n, pinDir);
  try {
    const pinnedId = pinned >= 0 ? n.progInfo(pinned).id : 0;
    for (const [mode, progId] of [['native', q.nativeProgId], ['generic', q.genericProgId], ['offload', q.offloadProgId]] as const) {
      if (!progId) continue;
      if (progId === pinnedId) {
        n.xdpDetach(ifindex, { mode, expectedFd: pinned });
        detached = true;
        log.info({ iface, progId, mode }, 'edgelb XDP program detached');
        continue;
      }
      // not the pinned program: ours from an older edgelb (no pin), or another one; by id needs CAP_SYS_ADMIN
      let fd: number;
      try {
        fd = n.progFdById(progId);
      } catch (e) {
        log.warn({ iface, progId, mode, err: errorMessage(e) }, 'an XDP program that is not the pinned edgelb one is attached; identifying it by id needs CAP_SYS_ADMIN: left alone');
        continue;
      }
      try {
        const name = n.progInfo(fd).name;
        if (name !== XDP_PROGRAM_NAME) {
          log.warn({ iface, program: name, progId }, 'another XDP program is attached: left alone');
          continue;
        }
        n.xdpDetach(ifindex, { mode, expectedFd: fd });
        detached = true;
        log.info({ iface, progId, mode }, 'edgelb XDP program detached (found by id and name: no pinned program)');
      } finally {
        n.closeFd(fd);
      }
    }
  } finally {
    if (pinned >= 0) n.closeFd(pinned);
  }
  return detached;
}
