// Lab routers: parsers for birdc `show protocols all` and `show route [PREFIX] all` output (pure).
import { groupPaths, normalizeState, type Neighbor, type RibPath, type RibRoute } from './types.js';

/** BGP protocols of `show protocols all` as neighbours (non-BGP protocols are skipped). */
export function parseBirdProtocols(text: string): Neighbor[] {
  const out: Neighbor[] = [];
  let cur: { name: string; proto: string; info: string; body: string[] } | undefined;
  const flush = () => {
    if (!cur || cur.proto !== 'BGP') return;
    const body = cur.body.join('\n');
    const addr = /Neighbor address:\s+(\S+)/.exec(body)?.[1];
    const asn = /Neighbor AS:\s+(\d+)/.exec(body)?.[1];
    const state = /BGP state:\s+(\S+)/.exec(body)?.[1] ?? cur.info.split(/\s+/)[0];
    let received = 0;
    for (const m of body.matchAll(/Routes:\s+(\d+) imported/g)) received += Number(m[1]);
    if (!addr) return;
    out.push({ name: cur.name, address: addr, asn: Number(asn ?? 0), state: normalizeState(state), prefixesReceived: received });
  };
  for (const line of text.split('\n')) {
    if (/^BIRD [\d.]+ ready\./.test(line) || /^Name\s+Proto\s+Table/.test(line) || line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      flush();
      // name proto table state since [info…]; "since" may be a date and a time
      const cols = line.trim().split(/\s+/);
      cur = { name: cols[0] ?? '', proto: cols[1] ?? '', info: cols.slice(5).join(' '), body: [] };
    } else cur?.body.push(line);
  }
  flush();
  return out;
}

const ORIGIN: Record<string, RibPath['origin']> = { IGP: 'igp', EGP: 'egp', Incomplete: 'incomplete' };

/**
 * Routes of `show route [PREFIX] all`: one RibRoute per prefix with a path per route line.
 * `protocols` maps BIRD protocol names to neighbour addresses (paths' `from`); without it `from` is the protocol name.
 */
export function parseBirdRoutes(text: string, protocols?: Map<string, string>): RibRoute[] {
  const byPrefix = new Map<string, RibPath[]>();
  let prefix = '';
  let path: RibPath | undefined;
  const push = () => {
    if (!path || !prefix) return;
    if (!path.nexthop && bgpNextHop) path.nexthop = bgpNextHop;
    const list = byPrefix.get(prefix) ?? [];
    list.push(path);
    byPrefix.set(prefix, list);
    path = undefined;
  };
  let bgpNextHop = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (!line || /^BIRD [\d.]+ ready\./.test(line) || /^Table \S+:$/.test(line)) continue;
    // a route line: "PREFIX  TYPE [proto time …] * (pref) [ASn?]" or, for the next path of the same prefix, "   TYPE [proto …]"
    const routeLine = /^(\S+)?\s+(\w+)\s+\[(\S+)\s[^\]]*\](\s+\*)?/.exec(line);
    if (routeLine && !line.startsWith('\t')) {
      push();
      bgpNextHop = '';
      if (routeLine[1]) prefix = routeLine[1];
      const proto = routeLine[3] ?? '';
      path = { nexthop: '', best: Boolean(routeLine[4]), asPath: [], communities: [], largeCommunities: [] };
      const from = protocols?.get(proto) ?? proto;
      if (from) path.from = from;
      const inlineVia = /\svia\s+(\S+)/.exec(line);
      if (inlineVia?.[1]) path.nexthop = inlineVia[1];
      continue;
    }
    if (!path) continue;
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^via\s+(\S+)/.exec(t))) {
      if (!path.nexthop) path.nexthop = m[1] ?? '';
    } else if ((m = /^BGP\.next_hop:\s+(\S+)/.exec(t))) bgpNextHop = m[1] ?? '';
    else if ((m = /^BGP\.as_path:\s*(.*)$/.exec(t))) path.asPath = (m[1] ?? '').match(/\d+/g)?.map(Number) ?? [];
    else if ((m = /^BGP\.origin:\s+(\S+)/.exec(t))) {
      const o = ORIGIN[m[1] ?? ''];
      if (o) path.origin = o;
    } else if ((m = /^BGP\.med:\s+(\d+)/.exec(t))) path.med = Number(m[1]);
    else if ((m = /^BGP\.local_pref:\s+(\d+)/.exec(t))) path.localPref = Number(m[1]);
    else if ((m = /^BGP\.community:\s*(.*)$/.exec(t))) {
      path.communities = [...(m[1] ?? '').matchAll(/\((\d+),\s*(\d+)\)/g)].map((c) => `${c[1]}:${c[2]}`);
    } else if ((m = /^BGP\.large_community:\s*(.*)$/.exec(t))) {
      path.largeCommunities = [...(m[1] ?? '').matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map((c) => `${c[1]}:${c[2]}:${c[3]}`);
    }
  }
  push();
  return groupPaths(byPrefix);
}
