// Lab routers: the behaviour every router adapter shares (waiting for sessions and routes, stopping its processes).
import type { Lab } from '../lab.js';
import type { LabProcess } from '../process.js';
import { waitUntil, LabFatalError, type WaitOptions } from '../wait.js';
import { normalizePrefix } from '../fib.js';
import type { BgpRouter, Neighbor, RibRoute, RouterOptions } from './types.js';

let instance = 0;

export abstract class RouterBase implements BgpRouter {
  abstract readonly kind: 'bird' | 'frr' | 'gobgp';
  readonly processes: LabProcess[] = [];
  /** scratch directory of this router instance (configs, sockets, pid files) */
  readonly dir: string;
  protected stopped = false;

  protected constructor(
    readonly lab: Lab,
    readonly node: string,
    readonly options: RouterOptions,
    kind: string,
  ) {
    this.dir = lab.path(`${kind}-${node}-${instance++}`);
  }

  abstract readonly configPath: string;
  abstract neighbors(): Promise<Neighbor[]>;
  abstract routes(prefix?: string): Promise<RibRoute[]>;

  get name(): string {
    return `${this.kind}@${this.node}`;
  }

  async waitEstablished(addresses?: string[], opts: WaitOptions = {}): Promise<Neighbor[]> {
    const want = addresses ?? this.options.neighbors.map((n) => n.address);
    return waitUntil(
      () => this.neighbors(),
      (ns) => want.every((a) => ns.some((n) => n.address === a && n.state === 'Established')),
      { what: `${this.name}: sessions Established with ${want.join(', ')}`, timeoutMs: 60_000, ...opts },
    );
  }

  async waitRoute(prefix: string, accept: (r: RibRoute) => boolean = () => true, opts: WaitOptions = {}): Promise<RibRoute> {
    const want = normalizePrefix(prefix, prefix.includes(':') ? 6 : 4);
    const rs = await waitUntil(
      () => this.routes(want),
      (rs) => rs.some((r) => r.prefix === want && accept(r)),
      { what: `${this.name}: route ${want}`, timeoutMs: 30_000, ...opts },
    );
    return rs.find((r) => r.prefix === want && accept(r))!;
  }

  /** Wait until `prefix` is gone from the RIB. */
  async waitNoRoute(prefix: string, opts: WaitOptions = {}): Promise<void> {
    const want = normalizePrefix(prefix, prefix.includes(':') ? 6 : 4);
    await waitUntil(
      () => this.routes(want),
      (rs) => !rs.some((r) => r.prefix === want),
      { what: `${this.name}: no route ${want}`, timeoutMs: 30_000, ...opts },
    );
  }

  /** Stop the router's processes (SIGTERM, then SIGKILL). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of [...this.processes].reverse()) await p.stop('SIGTERM', 3000);
  }

  /** Kill the router abruptly (SIGKILL): peers see the session die without a NOTIFICATION. */
  async kill(): Promise<void> {
    this.stopped = true;
    for (const p of this.processes) await p.stop('SIGKILL', 1000);
  }

  /** The router's log output (all its processes). */
  output(): string {
    return this.processes.map((p) => `--- ${p.name}\n${p.output()}`).join('\n');
  }

  protected ensureRunning(): void {
    const dead = this.processes.find((p) => !p.running);
    if (dead) throw new LabFatalError(`${this.name}: ${dead.name} exited (${dead.exitCode}):\n${dead.output().slice(-2000)}`);
  }
}
