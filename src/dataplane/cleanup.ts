// cleanupNode: remove what the XDP data path left on this node (`edgelb cleanup`, tests): the
// edgelb XDP program on the uplink (never another program), managed neighbour entries of
// backends, and the pins under /sys/fs/bpf/edgelb/<node>/.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import * as iproute from './iproute.js';
import { DEFAULT_PIN_BASE } from './xdp.js';

export const XDP_PROGRAM_NAME = 'edgelb_xdp';

export interface CleanupResult {
  detached: boolean;
  pinsRemoved: number;
  neighboursRemoved: number;
}

export async function cleanupNode(opts: { nodeName: string; iface?: string; logger: Logger; pinBase?: string; pinRoot?: string }): Promise<CleanupResult> {
  const log = opts.logger.child({ subsystem: 'dataplane' });
  const result: CleanupResult = { detached: false, pinsRemoved: 0, neighboursRemoved: 0 };
  if (opts.iface) {
    try {
      const x = iproute.xdpAttachment(opts.iface);
      if (x.progId && x.name === XDP_PROGRAM_NAME) {
        const flag = x.mode === 'native' ? 'xdpdrv' : x.mode === 'offload' ? 'xdpoffload' : 'xdpgeneric';
        execFileSync('ip', ['link', 'set', 'dev', opts.iface, flag, 'off'], { stdio: 'ignore' });
        result.detached = true;
        log.info({ iface: opts.iface, progId: x.progId, mode: x.mode }, 'edgelb XDP program detached');
      } else if (x.progId) {
        log.warn({ iface: opts.iface, program: x.name, progId: x.progId }, 'another XDP program is attached: left alone');
      }
    } catch (e) {
      log.warn({ iface: opts.iface, err: errorMessage(e) }, 'could not inspect the interface');
    }
    for (const addr of iproute.managedNeighbours(opts.iface)) {
      iproute.removeNeighbour(addr, opts.iface);
      result.neighboursRemoved++;
    }
  }
  const dir = opts.pinRoot ?? join(opts.pinBase ?? DEFAULT_PIN_BASE, opts.nodeName);
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
