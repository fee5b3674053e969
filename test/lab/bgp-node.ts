// Lab helper: an edge node's BgpSpeaker running in its namespace through bgp-runner.ts, driven
// over the runner's unix-socket API (set advertisements, read neighbours, stop, kill -9).
import http from 'node:http';
import type { Lab, LabProcess } from './lib/index.js';
import type { Advertisement, NeighborView } from '../../src/bgp/speaker.js';
import type { PeerSpec, PolicySpec } from '../../src/model/desired-state.js';

export interface EdgeNodeConfig {
  asn: number;
  routerId: string;
  listenPort?: number;
  localAddresses?: { ipv4?: string; ipv6?: string };
  peers: PeerSpec[];
  policies?: PolicySpec[];
  ads?: Advertisement[];
  reconciled?: boolean;
  restarting?: boolean;
  forwardingPreserved?: boolean;
  /** load the native addon in the runner (MD5 / TTL / GTSM) */
  native?: boolean;
}

/** A peer spec with the DESIGN.md defaults and lab-friendly timers. */
export function peerSpec(address: string, asn: number, extra: Partial<PeerSpec> = {}): PeerSpec {
  return {
    address,
    asn,
    port: 179,
    holdTime: 9,
    passive: false,
    connectRetry: 1,
    idleHold: 1,
    gracefulRestart: true,
    restartTime: 30,
    families: ['ipv4', 'ipv6'],
    exportPolicies: [],
    maxPrefixes: 1000,
    ...extra,
  };
}

export class EdgeNode {
  proc!: LabProcess;
  private constructor(
    readonly lab: Lab,
    readonly node: string,
    readonly control: string,
    private cfgPath: string,
  ) {}

  static async start(lab: Lab, node: string, cfg: EdgeNodeConfig, tag = ''): Promise<EdgeNode> {
    const control = lab.path(`${node}${tag}.sock`);
    const cfgPath = lab.writeFile(`${node}${tag}-bgp.json`, JSON.stringify({ listenPort: 0, ...cfg, control }));
    const n = new EdgeNode(lab, node, control, cfgPath);
    await n.spawn(tag);
    return n;
  }

  private async spawn(tag: string): Promise<void> {
    this.proc = await this.lab.spawn(this.node, [process.execPath, '--import', 'tsx', 'test/lab/bgp-runner.ts', this.cfgPath], { name: `bgp-${this.node}${tag}` });
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await this.call('GET', '/neighbors');
        return;
      } catch (e) {
        if (!this.proc.running) throw new Error(`bgp runner in ${this.node} exited:\n${this.proc.output().slice(-2000)}`);
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Start again with a changed config (e.g. restarting: true after a kill -9). */
  async restart(cfg: EdgeNodeConfig, tag: string): Promise<void> {
    this.cfgPath = this.lab.writeFile(`${this.node}${tag}-bgp.json`, JSON.stringify({ listenPort: 0, ...cfg, control: this.control }));
    await this.spawn(tag);
  }

  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.control, path, method, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          resolve((res.headers['content-type'] ?? '').includes('json') ? (JSON.parse(text) as T) : (text as T));
        });
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  setAds(ads: Advertisement[]): Promise<{ at: number }> {
    return this.call('PUT', '/ads', ads);
  }
  reconciled(): Promise<unknown> {
    return this.call('POST', '/reconciled');
  }
  setPeers(peers: PeerSpec[], policies: PolicySpec[] = []): Promise<unknown> {
    return this.call('PUT', '/peers', { peers, policies });
  }
  neighbors(): Promise<NeighborView[]> {
    return this.call('GET', '/neighbors');
  }
  metrics(): Promise<string> {
    return this.call('GET', '/metrics');
  }
  async stop(mode: 'graceful' | 'shutdown'): Promise<void> {
    await this.call('POST', `/stop?mode=${mode}`).catch(() => undefined);
    await this.proc.exited;
  }
  /** kill -9: the kernel closes the TCP sessions, no NOTIFICATION. */
  async kill9(): Promise<void> {
    this.proc.signal('SIGKILL');
    await this.proc.exited;
  }
}
