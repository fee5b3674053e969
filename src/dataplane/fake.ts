// FakeDataplane: the Dataplane interface in memory, for control-plane tests. Records every call,
// keeps the programmed services, and can be told to fail or to report itself unhealthy.
import { EdgelbError } from '../lib/errors.js';
import type { Dataplane, DataplaneOpenResult, DataplaneService, DataplaneStats } from './types.js';

export type FakeDataplaneCall =
  | { method: 'open' }
  | { method: 'setServices'; services: DataplaneService[] }
  | { method: 'close'; detach: boolean };

export class FakeDataplane implements Dataplane {
  readonly calls: FakeDataplaneCall[] = [];
  /** Programmed services by name (a deep copy of the last successful setServices). */
  readonly services = new Map<string, DataplaneService>();
  opened = false;
  /** What open() reports. */
  openResult: DataplaneOpenResult = { takenOver: false, attachMode: 'generic' };
  /** When set, the next call of that method rejects with it (then it is cleared). */
  failNext: Partial<Record<'open' | 'setServices' | 'close', Error>> = {};
  unhealthyReason: string | undefined;
  /** Fake per-service packet/byte counts, settable by tests. */
  readonly traffic = new Map<string, { packets: number; bytes: number }>();

  private takeFailure(m: 'open' | 'setServices' | 'close'): void {
    const e = this.failNext[m];
    if (e) {
      delete this.failNext[m];
      throw e;
    }
  }

  async open(): Promise<DataplaneOpenResult> {
    this.calls.push({ method: 'open' });
    this.takeFailure('open');
    this.opened = true;
    return { ...this.openResult };
  }

  async setServices(list: DataplaneService[]): Promise<void> {
    const copy = structuredClone(list);
    this.calls.push({ method: 'setServices', services: copy });
    if (!this.opened) throw new EdgelbError('EDGELB_ERR_INTERNAL', 'dataplane not open');
    this.takeFailure('setServices');
    const keys = new Set<string>();
    for (const s of copy) {
      const k = `${s.vip}|${s.port}|${s.protocol}`;
      if (keys.has(k)) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `two services use ${s.vip}:${s.port}/${s.protocol}`);
      keys.add(k);
    }
    this.services.clear();
    for (const s of copy) this.services.set(s.name, s);
  }

  /** The setServices calls only (what the agent asked for, in order). */
  get setServicesCalls(): DataplaneService[][] {
    return this.calls.flatMap((c) => (c.method === 'setServices' ? [c.services] : []));
  }

  health(): { ok: boolean; reason?: string } {
    if (!this.opened) return { ok: false, reason: 'data path not open' };
    if (this.unhealthyReason) return { ok: false, reason: this.unhealthyReason };
    return { ok: true };
  }

  stats(): DataplaneStats {
    const services = [...this.services.values()].map((s) => {
      const t = this.traffic.get(s.name) ?? { packets: 0, bytes: 0 };
      return {
        name: s.name,
        vip: s.vip,
        port: s.port,
        protocol: s.protocol,
        mode: s.mode,
        epSelect: s.epSelect,
        packets: t.packets,
        bytes: t.bytes,
        backends: s.backends.map((b) => ({ ...b, packets: 0, bytes: 0 })),
      };
    });
    return {
      attached: this.opened,
      attachMode: this.opened ? this.openResult.attachMode : undefined,
      counters: {},
      services,
      conntrackEntries: 0,
    };
  }

  async close(opts: { detach: boolean }): Promise<void> {
    this.calls.push({ method: 'close', detach: opts.detach });
    this.takeFailure('close');
    this.opened = false;
    if (opts.detach) this.services.clear();
  }
}
