// Lab routers: BIRD 2 in a lab namespace (bird -f -c CONF -s SOCK -P PID), read through birdc.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab.js';
import { LabExecError } from '../exec.js';
import { waitUntil } from '../wait.js';
import { normalizePrefix } from '../fib.js';
import { RouterBase } from './base.js';
import { birdConfig, birdProtocolName, type BirdOptions } from './bird-config.js';
import { parseBirdProtocols, parseBirdRoutes } from './bird-parse.js';
import type { Neighbor, RibRoute, RouterBfdSession } from './types.js';

export class BirdRouter extends RouterBase {
  readonly kind = 'bird' as const;
  readonly configPath: string;
  readonly socketPath: string;
  readonly pidPath: string;

  private constructor(lab: Lab, node: string, public birdOptions: BirdOptions) {
    super(lab, node, birdOptions, 'bird');
    this.configPath = join(this.dir, 'bird.conf');
    this.socketPath = join(this.dir, 'bird.ctl');
    this.pidPath = join(this.dir, 'bird.pid');
  }

  /** Write the config, check it (`bird -p`), start BIRD in `node` and wait for its control socket. */
  static async start(lab: Lab, node: string, opts: BirdOptions): Promise<BirdRouter> {
    const r = new BirdRouter(lab, node, opts);
    mkdirSync(r.dir, { recursive: true });
    writeFileSync(r.configPath, birdConfig(opts), { mode: 0o600 });
    await lab.exec(node, ['bird', '-p', '-c', r.configPath]);
    lab.own(r);
    const p = await lab.spawn(node, ['bird', '-f', '-c', r.configPath, '-s', r.socketPath, '-P', r.pidPath], { name: `bird-${node}` });
    r.processes.push(p);
    await waitUntil(
      async () => {
        r.ensureRunning();
        return (await r.birdc('show status')).includes('Daemon is up');
      },
      (ok) => ok,
      { what: `bird control socket in ${node}`, timeoutMs: 10_000, intervalMs: 50 },
    );
    return r;
  }

  /** Run one birdc command and return its text (throws when birdc fails; "Network not found" is an empty answer, not a failure). */
  async birdc(cmd: string): Promise<string> {
    const argv = ['birdc', '-s', this.socketPath, ...cmd.split(' ').filter(Boolean)];
    const res = await this.lab.exec(this.node, argv, { check: false });
    if (res.code !== 0 && !/^Network not found$/m.test(res.stdout)) throw new LabExecError(argv, res);
    return res.stdout;
  }

  /** Replace the configuration and `birdc configure` it. */
  async reconfigure(opts: BirdOptions): Promise<void> {
    this.birdOptions = opts;
    writeFileSync(this.configPath, birdConfig(opts), { mode: 0o600 });
    const out = await this.birdc('configure');
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`bird configure: ${out}`);
  }

  /** `show bfd sessions`: one line per session, "ADDRESS IFACE STATE SINCE INTERVAL TIMEOUT" (seconds). */
  async bfdSessions(): Promise<RouterBfdSession[]> {
    const out: RouterBfdSession[] = [];
    for (const line of (await this.birdc('show bfd sessions')).split('\n')) {
      const m = /^\s*([0-9a-fA-F.:]+)\s+\S+\s+(Up|Down|Init|AdminDown)\s+\S+(?:\s+\S+)?\s+([\d.]+)\s+([\d.]+)\s*$/.exec(line);
      if (m) out.push({ peer: m[1]!, state: m[2]!, txMs: Math.round(Number(m[3]) * 1000), detectMs: Math.round(Number(m[4]) * 1000) });
    }
    return out;
  }

  async neighbors(): Promise<Neighbor[]> {
    return parseBirdProtocols(await this.birdc('show protocols all'));
  }

  async routes(prefix?: string): Promise<RibRoute[]> {
    const cmd = prefix ? `show route ${normalizePrefix(prefix, prefix.includes(':') ? 6 : 4)} all` : 'show route all';
    const names = new Map(this.birdOptions.neighbors.map((n) => [birdProtocolName(n), n.address]));
    return parseBirdRoutes(await this.birdc(cmd), names);
  }
}
