// Lab routers: GoBGP (gobgpd) in a lab namespace, as a speaker (announce/withdraw through the gobgp CLI) or as a router.
// GoBGP installs nothing in the kernel (no zebra here), so for a GoBGP *router* check routes() (its RIB), not fibRoutes().
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab.js';
import { waitUntil } from '../wait.js';
import { normalizePrefix } from '../fib.js';
import { RouterBase } from './base.js';
import { gobgpConfig, type GobgpOptions } from './gobgp-config.js';
import { parseGobgpNeighbors, parseGobgpRib } from './gobgp-parse.js';
import type { Neighbor, RibRoute } from './types.js';

export interface GobgpStartOptions extends GobgpOptions {
  /** gRPC port on the namespace's 127.0.0.1 (default: unique within the lab, from 50051) */
  apiPort?: number;
}

export interface Announcement {
  /** default: the speaker's own address on the session ('nexthop' left to gobgpd) */
  nexthop?: string;
  med?: number;
  localPref?: number;
  /** 'ASN:VALUE' or well-known names (no-export, …) */
  communities?: string[];
  /** 'GLOBAL:DATA1:DATA2' */
  largeCommunities?: string[];
  /** AS_PATH to prepend, as ASNs */
  asPath?: number[];
  origin?: 'igp' | 'egp' | 'incomplete';
}

export class GobgpRouter extends RouterBase {
  readonly kind = 'gobgp' as const;
  readonly configPath: string;
  readonly apiPort: number;

  private constructor(lab: Lab, node: string, readonly gobgpOptions: GobgpStartOptions) {
    super(lab, node, gobgpOptions, 'gobgp');
    this.configPath = join(this.dir, 'gobgpd.toml');
    this.apiPort = gobgpOptions.apiPort ?? lab.nextPort(50051);
  }

  /** Write the TOML config, start gobgpd in `node` (gRPC on 127.0.0.1:apiPort there) and wait for its API. */
  static async start(lab: Lab, node: string, opts: GobgpStartOptions): Promise<GobgpRouter> {
    const r = new GobgpRouter(lab, node, opts);
    mkdirSync(r.dir, { recursive: true });
    writeFileSync(r.configPath, gobgpConfig(opts), { mode: 0o600 });
    lab.own(r);
    const p = await lab.spawn(
      node,
      ['gobgpd', '-f', r.configPath, '-t', 'toml', '-p', '--api-hosts', `127.0.0.1:${r.apiPort}`, '--pprof-disable'],
      { name: `gobgpd-${node}` },
    );
    r.processes.push(p);
    await waitUntil(
      async () => {
        r.ensureRunning();
        await r.gobgp(['global']);
        return true;
      },
      (ok) => ok,
      { what: `gobgpd API on ${node} 127.0.0.1:${r.apiPort}`, timeoutMs: 15_000, intervalMs: 100 },
    );
    return r;
  }

  /** Run the gobgp CLI against this instance; returns stdout. */
  async gobgp(args: string[], json = false): Promise<string> {
    const res = await this.lab.exec(this.node, ['gobgp', '-p', String(this.apiPort), ...(json ? ['-j'] : []), ...args]);
    return res.stdout;
  }

  /** `gobgp global rib add PREFIX …` */
  async announce(prefix: string, a: Announcement = {}): Promise<void> {
    await this.gobgp(['global', 'rib', 'add', ...ribArgs(prefix, a)]);
  }

  /** `gobgp global rib del PREFIX` */
  async withdraw(prefix: string): Promise<void> {
    const fam = prefix.includes(':') ? 'ipv6' : 'ipv4';
    await this.gobgp(['global', 'rib', 'del', '-a', fam, normalizePrefix(prefix, fam === 'ipv6' ? 6 : 4)]);
  }

  async neighbors(): Promise<Neighbor[]> {
    return parseGobgpNeighbors(await this.gobgp(['neighbor'], true));
  }

  /** The global (Loc-)RIB, both families, or only `prefix`. */
  async routes(prefix?: string): Promise<RibRoute[]> {
    const fams = prefix ? [prefix.includes(':') ? 'ipv6' : 'ipv4'] : ['ipv4', 'ipv6'];
    const out: RibRoute[] = [];
    for (const f of fams) {
      const args = ['global', 'rib', '-a', f];
      if (prefix) args.push(normalizePrefix(prefix, f === 'ipv6' ? 6 : 4));
      out.push(...parseGobgpRib(await this.gobgp(args, true)));
    }
    return out;
  }
}

/** CLI arguments of `gobgp global rib add` for one announcement (pure; exported for tests). */
export function ribArgs(prefix: string, a: Announcement): string[] {
  const v6 = prefix.includes(':');
  const args = ['-a', v6 ? 'ipv6' : 'ipv4', normalizePrefix(prefix, v6 ? 6 : 4)];
  if (a.origin) args.push('origin', a.origin);
  if (a.asPath?.length) args.push('aspath', a.asPath.join(','));
  if (a.nexthop) args.push('nexthop', a.nexthop);
  if (a.med !== undefined) args.push('med', String(a.med));
  if (a.localPref !== undefined) args.push('local-pref', String(a.localPref));
  if (a.communities?.length) args.push('community', a.communities.join(','));
  if (a.largeCommunities?.length) args.push('large-community', a.largeCommunities.join(','));
  return args;
}
