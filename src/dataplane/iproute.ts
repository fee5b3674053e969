// The few interface facts the XDP data path reads through iproute2's JSON output (netlink):
// an interface's kind (veth?), its XDP attachment, and the managed neighbour entries (NTF_MANAGED,
// Linux 5.16+) that keep on-segment backends resolved for bpf_fib_lookup — the MAC still comes
// from ARP/NDP, never from configuration.
import { execFileSync } from 'node:child_process';

function ipJson(args: string[]): unknown {
  const out = execFileSync('ip', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim() === '' ? [] : JSON.parse(out);
}

/** "veth", "bridge", ... or "" for a plain device (a NIC). */
export function linkKind(iface: string): string {
  const links = ipJson(['-d', 'link', 'show', 'dev', iface]) as Array<{ linkinfo?: { info_kind?: string } }>;
  return links[0]?.linkinfo?.info_kind ?? '';
}

/** Many neighbour changes in one `ip -batch` (one process for thousands of backends). */
export function neighbourBatch(add: readonly string[], del: readonly string[], iface: string): void {
  if (add.length === 0 && del.length === 0) return;
  const lines = [...del.map((a) => `neigh del ${a} dev ${iface}`), ...add.map((a) => `neigh replace ${a} dev ${iface} managed`)];
  try {
    execFileSync('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] });
  } catch {
    // -force went on past the failing lines (e.g. deleting an entry already gone)
  }
}

export function removeNeighbour(addr: string, iface: string): void {
  try {
    execFileSync('ip', ['neigh', 'del', addr, 'dev', iface], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** Managed neighbour entries on iface (edgelb is the only writer of managed entries it knows). */
export function managedNeighbours(iface: string): string[] {
  try {
    const n = ipJson(['neigh', 'show', 'dev', iface]) as Array<{ dst: string; managed?: unknown }>;
    return n.filter((e) => 'managed' in e).map((e) => e.dst);
  } catch {
    return [];
  }
}

/** XDP program attached to iface as iproute2 reports it. */
export function xdpAttachment(iface: string): { mode: 'native' | 'generic' | 'offload' | 'none'; progId: number; name: string } {
  const links = ipJson(['-d', 'link', 'show', 'dev', iface]) as Array<{
    xdp?: { mode?: number; prog?: { id: number; name?: string }; attached?: Array<{ mode: number; prog: { id: number; name?: string } }> };
  }>;
  const x = links[0]?.xdp;
  if (!x) return { mode: 'none', progId: 0, name: '' };
  const prog = x.prog ?? x.attached?.[0]?.prog;
  const m = x.mode ?? x.attached?.[0]?.mode;
  const mode = m === 1 ? 'native' : m === 2 ? 'generic' : m === 3 ? 'offload' : 'none';
  return { mode, progId: prog?.id ?? 0, name: prog?.name ?? '' };
}
