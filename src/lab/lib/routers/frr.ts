// Lab routers: FRR (zebra + bgpd) in a lab namespace, every path of its own (config, pid, zserv, vty sockets), read through vtysh.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab.js';
import { waitUntil } from '../wait.js';
import { normalizePrefix } from '../fib.js';
import { RouterBase } from './base.js';
import { frrBfddConfig, frrBgpdConfig, frrZebraConfig, type FrrOptions } from './frr-config.js';
import { parseFrrNeighbors, parseFrrRoutes } from './frr-parse.js';
import type { Neighbor, RibRoute, RouterBfdCounters, RouterBfdSession } from './types.js';

export const FRR_DAEMON_DIR = '/usr/lib/frr';
/** FRR 8 always makes /var/tmp/frr/<daemon>.<pid>/ (crash logs); the lab removes its daemons' ones */
export const FRR_TMP_DIR = '/var/tmp/frr';

export class FrrRouter extends RouterBase {
  readonly kind = 'frr' as const;
  readonly configPath: string;
  readonly zebraConfigPath: string;
  /** directory holding zebra.vty and bgpd.vty (vtysh --vty_socket) */
  readonly vtyDir: string;
  readonly zservPath: string;

  private constructor(lab: Lab, node: string, readonly frrOptions: FrrOptions) {
    super(lab, node, frrOptions, 'frr');
    this.configPath = join(this.dir, 'bgpd.conf');
    this.zebraConfigPath = join(this.dir, 'zebra.conf');
    this.vtyDir = this.dir;
    this.zservPath = join(this.dir, 'zserv.api');
  }

  /** Write configs, start zebra then bgpd in `node` (user root, group frrvty so FRR's vty-group check passes; TCP vty off), wait until vtysh answers. */
  static async start(lab: Lab, node: string, opts: FrrOptions): Promise<FrrRouter> {
    const r = new FrrRouter(lab, node, opts);
    mkdirSync(r.dir, { recursive: true });
    writeFileSync(r.configPath, frrBgpdConfig(opts), { mode: 0o600 });
    writeFileSync(r.zebraConfigPath, frrZebraConfig(opts), { mode: 0o600 });
    const common = ['--vty_socket', r.vtyDir, '-z', r.zservPath, '-u', 'root', '-g', 'frrvty', '-P', '0'];
    lab.own(r);
    const zebra = await lab.spawn(
      node,
      [join(FRR_DAEMON_DIR, 'zebra'), '-f', r.zebraConfigPath, '-i', join(r.dir, 'zebra.pid'), ...common],
      { name: `zebra-${node}` },
    );
    r.processes.push(zebra);
    lab.ownPath(join(FRR_TMP_DIR, `zebra.${zebra.pid}`));
    await waitUntil(
      async () => {
        r.ensureRunning();
        await r.vtysh('show version', 'zebra');
        return true;
      },
      (ok) => ok,
      { what: `zebra vty in ${node}`, timeoutMs: 15_000, intervalMs: 100 },
    );
    // bfdd (when a neighbour asks for BFD) before bgpd, so bgpd's sessions register at once
    const bfddConf = frrBfddConfig(opts);
    if (bfddConf) {
      const path = join(r.dir, 'bfdd.conf');
      writeFileSync(path, bfddConf, { mode: 0o600 });
      const bfdd = await lab.spawn(node, [join(FRR_DAEMON_DIR, 'bfdd'), '-f', path, '-i', join(r.dir, 'bfdd.pid'), ...common], { name: `bfdd-${node}` });
      r.processes.push(bfdd);
      lab.ownPath(join(FRR_TMP_DIR, `bfdd.${bfdd.pid}`));
      await waitUntil(
        async () => {
          r.ensureRunning();
          await r.vtysh('show bfd peers json', 'bfdd');
          return true;
        },
        (ok) => ok,
        { what: `bfdd vty in ${node}`, timeoutMs: 15_000, intervalMs: 100 },
      );
    }
    const bgpd = await lab.spawn(
      node,
      [join(FRR_DAEMON_DIR, 'bgpd'), '-f', r.configPath, '-i', join(r.dir, 'bgpd.pid'), '-p', String(opts.listenPort ?? 179), ...common],
      { name: `bgpd-${node}` },
    );
    r.processes.push(bgpd);
    lab.ownPath(join(FRR_TMP_DIR, `bgpd.${bgpd.pid}`));
    await waitUntil(
      async () => {
        r.ensureRunning();
        await r.vtysh('show bgp summary json', 'bgpd');
        return true;
      },
      (ok) => ok,
      { what: `bgpd vty in ${node}`, timeoutMs: 15_000, intervalMs: 100 },
    );
    return r;
  }

  /** Stop bgpd then zebra, and remove their /var/tmp/frr directories. */
  override async stop(): Promise<void> {
    await super.stop();
    for (const p of this.processes) rmSync(join(FRR_TMP_DIR, `${p.name.split('-')[0]}.${p.pid}`), { recursive: true, force: true });
  }

  /** Run one vtysh command (optionally against one daemon) and return its stdout. */
  async vtysh(cmd: string, daemon?: 'zebra' | 'bgpd' | 'bfdd'): Promise<string> {
    const args = ['vtysh', '--vty_socket', this.vtyDir, ...(daemon ? ['-d', daemon] : []), '-c', cmd];
    return (await this.lab.exec(this.node, args)).stdout;
  }

  /** Apply configuration lines in `configure terminal` (e.g. ['router bgp 64512', ' neighbor 10.0.0.13 remote-as 64515']). */
  async configure(lines: string[]): Promise<void> {
    const args = ['vtysh', '--vty_socket', this.vtyDir, '-d', 'bgpd', '-c', 'configure terminal', ...lines.flatMap((l) => ['-c', l.trim()])];
    const res = await this.lab.exec(this.node, args, { check: false });
    const out = res.stdout + res.stderr;
    if (res.code !== 0 || /% |Unknown command|Invalid/.test(out)) throw new Error(`vtysh configure failed (code ${res.code}): ${out.trim()}`);
  }

  /** bfdd's sessions (`show bfd peers json`): state and negotiated timers. */
  async bfdSessions(): Promise<RouterBfdSession[]> {
    const peers = JSON.parse(await this.vtysh('show bfd peers json', 'bfdd')) as Array<Record<string, unknown>>;
    return peers.map((p) => {
      const tx = Math.max(Number(p['transmit-interval'] ?? 0), Number(p['remote-receive-interval'] ?? 0));
      const detect = Number(p['remote-detect-multiplier'] ?? 0) * Math.max(Number(p['receive-interval'] ?? 0), Number(p['remote-transmit-interval'] ?? 0));
      const state = String(p.status ?? 'unknown');
      return { peer: String(p.peer), state: state === 'up' ? 'Up' : state === 'down' ? 'Down' : state === 'init' ? 'Init' : state, txMs: tx, detectMs: detect };
    });
  }

  /** bfdd's per-session counters (`show bfd peers counters json`): Up / Down transitions and packets. */
  async bfdCounters(): Promise<RouterBfdCounters[]> {
    const peers = JSON.parse(await this.vtysh('show bfd peers counters json', 'bfdd')) as Array<Record<string, unknown>>;
    return peers.map((p) => ({
      peer: String(p.peer),
      multihop: p.multihop === true,
      sessionUp: Number(p['session-up'] ?? 0),
      sessionDown: Number(p['session-down'] ?? 0),
      rx: Number(p['control-packet-input'] ?? 0),
      tx: Number(p['control-packet-output'] ?? 0),
    }));
  }

  async neighbors(): Promise<Neighbor[]> {
    return parseFrrNeighbors(await this.vtysh('show bgp neighbors json', 'bgpd'));
  }

  /** Routes of the BGP RIB (`show bgp ipv4|ipv6 unicast [PREFIX] json`). */
  async routes(prefix?: string): Promise<RibRoute[]> {
    const fams = prefix ? [prefix.includes(':') ? 'ipv6' : 'ipv4'] : ['ipv4', 'ipv6'];
    const out: RibRoute[] = [];
    for (const f of fams) {
      const p = prefix ? ` ${normalizePrefix(prefix, f === 'ipv6' ? 6 : 4)}` : '';
      out.push(...parseFrrRoutes(await this.vtysh(`show bgp ${f} unicast${p} json`, 'bgpd')));
    }
    return out;
  }
}
