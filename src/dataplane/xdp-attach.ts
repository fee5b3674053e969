// XDP attach: replaces our running program in place (takeover) or picks the attach mode and attaches fresh.
import type { Logger } from '../lib/logger.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { DataplaneSpec } from '../model/desired-state.js';
import type { XdpNative } from './native.js';

export interface XdpAttachResult {
  /** True when our program was already attached (replaced in place). */
  hadOurProgram: boolean;
  mode: 'native' | 'generic';
}

/** Attach (or replace in place) progFd on ifindex; never replaces another program. */
export function attachXdp(
  n: XdpNative,
  a: { ifindex: number; iface: string; progFd: number; program: string; attachMode: DataplaneSpec['attachMode'] },
  log: Logger,
): XdpAttachResult {
  const iface = a.iface;
  const q = n.xdpQuery(a.ifindex);
  if (q.progId) {
    const oldFd = n.progFdById(q.progId);
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
