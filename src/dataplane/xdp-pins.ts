// XDP data path pins: default paths, the pinned-layout compatibility check, adopting a previous daemon's programmed state (takeover), unpinning.
import { existsSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { u32Key, type XdpLayout, type XdpNative } from './native.js';
import { endianness } from 'node:os';

const u32Of = (b: Buffer) => (endianness() === 'LE' ? b.readUInt32LE(0) : b.readUInt32BE(0));
import { beKeyOf, svcKeyOf, type FreeList } from './xdp-slots.js';

export const DEFAULT_PIN_BASE = '/sys/fs/bpf/edgelb';
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_OBJECT_PATH = join(PACKAGE_ROOT, 'build', 'bpf', 'edgelb_xdp.bpf.o');

/**
 * The loaded XDP program is pinned beside the maps under this name: a restarted daemon (or
 * `edgelb cleanup`) opens it with BPF_OBJ_GET, which needs no CAP_SYS_ADMIN, where
 * BPF_PROG_GET_FD_BY_ID does.
 */
export const PROG_PIN = 'edgelb_prog';

/** The pinned edgelb program's fd, or -1 when nothing is pinned (pins of an older edgelb). */
export function openPinnedProg(n: Pick<XdpNative, 'objGet'>, pinDir: string): number {
  const path = join(pinDir, PROG_PIN);
  if (!existsSync(path)) return -1;
  try {
    return n.objGet(path);
  } catch {
    return -1;
  }
}

/** Pin progFd as <pinDir>/edgelb_prog, replacing an older pin atomically (pin beside, rename over). */
export function pinProg(n: Pick<XdpNative, 'objPin' | 'unpin'>, progFd: number, pinDir: string): void {
  const path = join(pinDir, PROG_PIN);
  const tmp = `${path}_new`; // bpffs refuses names with a dot
  n.unpin(tmp);
  n.objPin(progFd, tmp);
  try {
    renameSync(tmp, path);
  } catch (e) {
    n.unpin(tmp);
    throw e;
  }
}

type MapFd = (name: keyof XdpLayout['maps']) => number;

/** Pins from another layout version or table size cannot be reused: remove them, say so. */
export function checkPinnedLayout(
  n: XdpNative,
  layout: XdpLayout,
  pinDir: string,
  want: { maglevSize: number; maxServices: number },
  log: Logger,
): void {
  const cfgPin = join(pinDir, layout.maps.cfg);
  if (!existsSync(cfgPin)) return;
  let why = '';
  try {
    const fd = n.objGet(cfgPin);
    try {
      const v = n.mapLookup(fd, u32Key(0));
      // the version is the first u32 of every layout's edgelb_cfg (older ones are shorter)
      const version = v && v.length >= 4 ? u32Of(v) : 0;
      if (version === 0) return; // never configured: nothing to keep
      const cfg = v && v.length >= layout.sizes.cfg! ? (n.xdpDecode('cfg', v) as { layoutVersion: number; maglevSize: number; maxServices: number }) : undefined;
      if (version !== layout.version || !cfg) why = `layout version ${version} pinned, ${layout.version} needed`;
      else if (cfg.maglevSize !== want.maglevSize) why = `maglev table size ${cfg.maglevSize} pinned, ${want.maglevSize} configured`;
      else if (cfg.maxServices !== want.maxServices) why = `max services ${cfg.maxServices} pinned, ${want.maxServices} configured`;
    } finally {
      n.closeFd(fd);
    }
  } catch (e) {
    why = `unreadable pinned config: ${errorMessage(e)}`;
  }
  if (!why) return;
  log.warn({ pinDir, why }, 'pinned data-path maps are incompatible: re-creating them (tracked connections are lost)');
  // the program pin stays: the old program is still attached and a takeover replaces it through it
  for (const f of readdirSync(pinDir)) if (f.startsWith('edgelb_') && f !== PROG_PIN) rmSync(join(pinDir, f), { force: true });
}

/** The shadow state a takeover fills from the pinned maps. */
export interface AdoptedState {
  orphanServices: Map<string, number>;
  orphanBackends: Map<string, { index: number; gen: number }>;
  orphanVips: Set<string>;
  svcFree: FreeList;
  beFree: FreeList;
  slotGen: Uint32Array;
}

/** Maps reused from a previous daemon: remember its indices so identical services keep them. */
export function adoptPinnedState(
  n: XdpNative,
  fd: MapFd,
  limits: { maxServices: number; maxBackends: number },
  st: AdoptedState,
  log: Logger,
): void {
  const svcFd = fd('svc');
  for (let k = n.mapGetNextKey(svcFd, null); k; k = n.mapGetNextKey(svcFd, k)) {
    const v = n.mapLookup(svcFd, k);
    if (!v) continue;
    const key = n.xdpDecode('svcKey', k) as { vip: string; port: number; protocol: string };
    const val = n.xdpDecode('svc', v) as { index: number };
    if (val.index >= limits.maxServices) continue;
    st.orphanServices.set(svcKeyOf(key.vip, key.port, key.protocol), val.index);
    st.svcFree.claim(val.index);
  }
  const vipFd = fd('vips');
  for (let k = n.mapGetNextKey(vipFd, null); k; k = n.mapGetNextKey(vipFd, k)) st.orphanVips.add(k.toString('hex'));
  const beFd = fd('backends');
  for (let i = 0; i < limits.maxBackends; i++) {
    const v = n.mapLookup(beFd, u32Key(i));
    if (!v) continue;
    const be = n.xdpDecode('backend', v) as { address?: string; port?: number; gen: number };
    st.slotGen[i] = be.gen;
    if (be.address === undefined) continue;
    st.orphanBackends.set(beKeyOf({ address: be.address, port: be.port! }), { index: i, gen: be.gen });
    st.beFree.claim(i);
  }
  log.info({ services: st.orphanServices.size, backends: st.orphanBackends.size }, 'adopted the programmed state of the pinned maps');
}

/** Remove our pins, then the node's pin directory and its parent when empty. */
export function removePins(pinDir: string): void {
  for (const f of existsSync(pinDir) ? readdirSync(pinDir) : []) {
    if (f.startsWith('edgelb_')) rmSync(join(pinDir, f), { force: true });
  }
  for (const dir of [pinDir, dirname(pinDir)]) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty (other nodes' pins) or gone
    }
  }
}
