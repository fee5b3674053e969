// XDP attach: replaces our running program in place (takeover) or picks the attach mode and attaches fresh.
import type { Logger } from '../lib/logger.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { DataplaneSpec } from '../model/desired-state.js';
import type { XdpNative } from './native.js';
import { openPinnedProg, PROG_PIN } from './xdp-pins.js';
import { join } from 'node:path';

export interface XdpAttachResult {
  /** True when our program was already attached (replaced in place). */
  hadOurProgram: boolean;
  mode: 'native' | 'generic';
}

/**
 * An fd of the attached program progId: the pinned edgelb program when it is that one (BPF_OBJ_GET,
 * no CAP_SYS_ADMIN needed), else by id (BPF_PROG_GET_FD_BY_ID, which needs CAP_SYS_ADMIN).
 */
export function attachedProgFd(
  n: Pick<XdpNative, 'objGet' | 'progInfo' | 'progFdById' | 'closeFd'>,
  progId: number,
  pinDir: string,
  iface: string,
  log: Logger,
): number {
  const pinned = openPinnedProg(n, pinDir);
  if (pinned >= 0) {
    let id = 0;
    try {
      id = n.progInfo(pinned).id;
    } catch (e) {
      log.warn({ iface, pin: join(pinDir, PROG_PIN), err: errorMessage(e) }, 'the pinned edgelb program is unreadable');
    }
    if (id === progId) return pinned;
    n.closeFd(pinned);
    log.warn({ iface, attachedId: progId, pinnedId: id }, 'the attached XDP program is not the pinned edgelb program: looking it up by id (needs CAP_SYS_ADMIN)');
  } else {
    log.warn({ iface, progId, pin: join(pinDir, PROG_PIN) }, 'no pinned edgelb program (pins of an older edgelb): looking the attached XDP program up by id (needs CAP_SYS_ADMIN)');
  }
  try {
    return n.progFdById(progId);
  } catch (e) {
    throw new EdgelbError(
      'EDGELB_ERR_BPF_LOAD',
      `${iface} runs XDP program id ${progId}, which is not the pinned edgelb program (${join(pinDir, PROG_PIN)}); identifying it by id needs CAP_SYS_ADMIN (${errorMessage(e)}): run \`edgelb cleanup\` with CAP_SYS_ADMIN, or detach it`,
      { cause: e },
    );
  }
}

/** Attach (or replace in place) progFd on ifindex; never replaces another program. */
export function attachXdp(
  n: XdpNative,
  a: { ifindex: number; iface: string; progFd: number; program: string; attachMode: DataplaneSpec['attachMode']; pinDir: string },
  log: Logger,
): XdpAttachResult {
  const iface = a.iface;
  const q = n.xdpQuery(a.ifindex);
  if (q.progId) {
    const oldFd = attachedProgFd(n, q.progId, a.pinDir, iface, log);
    try {
      const info = n.progInfo(oldFd);
      if (info.name !== a.program) {
        throw new EdgelbError('EDGELB_ERR_BPF_LOAD', `${iface} already runs another XDP program (${info.name}, id ${info.id}); edgelb will not replace it`);
      }
      const mode = q.mode === 'native' ? 'native' : 'generic';
      if (a.attachMode !== 'auto' && a.attachMode !== mode) {
        log.warn({ iface, attached: mode, configured: a.attachMode }, 'keeping the running attach mode (changing it needs a detach; run `edgelb cleanup` first)');
      }
      n.xdpAttach(a.ifindex, a.progFd, { mode, replaceFd: oldFd });
      return { hadOurProgram: true, mode };
    } finally {
      n.closeFd(oldFd);
    }
  }
  let mode: 'native' | 'generic';
  let reason: string;
  if (a.attachMode === 'auto') {
    const kind = n.linkKind(a.ifindex);
    if (kind === 'veth') {
      mode = 'generic';
      reason = 'veth: XDP_TX in native mode needs an XDP program on the peer';
    } else {
      mode = 'native';
      reason = kind ? `${kind} device` : 'physical device';
    }
  } else {
    mode = a.attachMode;
    reason = 'configured';
  }
  try {
    n.xdpAttach(a.ifindex, a.progFd, { mode, noReplace: true });
  } catch (e) {
    if (a.attachMode !== 'auto' || mode === 'generic') {
      throw new EdgelbError('EDGELB_ERR_BPF_LOAD', `attaching XDP (${mode}) to ${iface} failed: ${errorMessage(e)}`, { cause: e });
    }
    reason = `driver refused native XDP (${errorMessage(e)})`;
    mode = 'generic';
    n.xdpAttach(a.ifindex, a.progFd, { mode, noReplace: true });
  }
  log.info({ iface, attachMode: mode, reason }, `XDP attach mode ${mode}`);
  return { hadOurProgram: false, mode };
}
