// Lab: the kernel FIB as data, parsed from `ip -j route show` / `ip -6 -j route show` (multipath next hops included).

export interface FibNexthop {
  gateway?: string;
  dev?: string;
  weight?: number;
}

export interface FibRoute {
  /** always with a length: '10.9.9.9/32', 'fd00:9::1/128', '0.0.0.0/0', '::/0' */
  prefix: string;
  family: 4 | 6;
  /** unicast, local, blackhole, … ('unicast' when ip omits it) */
  type: string;
  /** the gateway addresses, one per path (empty for a connected route) */
  nexthops: string[];
  /** every path with its device and weight */
  paths: FibNexthop[];
  dev?: string;
  protocol?: string;
  metric?: number;
  src?: string;
}

interface IpRouteJson {
  type?: string;
  dst?: string;
  gateway?: string;
  via?: { family?: string; host?: string };
  dev?: string;
  protocol?: string;
  metric?: number;
  prefsrc?: string;
  nexthops?: { gateway?: string; via?: { host?: string }; dev?: string; weight?: number }[];
}

/** Canonical prefix text: adds /32 or /128 to a host, turns 'default' into 0.0.0.0/0 or ::/0. */
export function normalizePrefix(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  if (dst.includes('/')) return dst;
  return `${dst}/${family === 4 ? 32 : 128}`;
}

/** Parse the JSON of `ip [-6] -j route show`. */
export function parseIpRouteJson(json: string, family: 4 | 6): FibRoute[] {
  const text = json.trim();
  if (!text) return [];
  const rows = JSON.parse(text) as IpRouteJson[];
  return rows.map((r) => {
    const paths: FibNexthop[] = r.nexthops
      ? r.nexthops.map((h) => ({ gateway: h.gateway ?? h.via?.host, dev: h.dev, weight: h.weight }))
      : [{ gateway: r.gateway ?? r.via?.host, dev: r.dev }];
    const route: FibRoute = {
      prefix: normalizePrefix(r.dst ?? 'default', family),
      family,
      type: r.type ?? 'unicast',
      nexthops: paths.map((p) => p.gateway).filter((g): g is string => typeof g === 'string'),
      paths,
    };
    if (r.dev !== undefined) route.dev = r.dev;
    if (r.protocol !== undefined) route.protocol = r.protocol;
    if (r.metric !== undefined) route.metric = r.metric;
    if (r.prefsrc !== undefined) route.src = r.prefsrc;
    return route;
  });
}
