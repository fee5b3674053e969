// XDP data path Prometheus metrics: per-service packets/bytes, verdicts, events, conntrack entries, attached.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServiceSlot } from './xdp-slots.js';
import type { PacketBytes } from './xdp-stats.js';

/** What the metrics read from the data path at scrape time. */
export interface XdpMetricsSource {
  opened(): boolean;
  services(): Iterable<ServiceSlot>;
  svcStats(index: number): PacketBytes;
  counters(): Record<string, number>;
  conntrackEntries(): number;
  attachMode(): 'native' | 'generic' | undefined;
  health(): { ok: boolean };
}

export function registerXdpMetrics(registry: Registry, src: XdpMetricsSource): void {
  // a data path re-created in the same process replaces the previous one's metrics
  for (const name of ['packets_total', 'bytes_total', 'verdicts_total', 'events_total', 'conntrack_entries', 'attached']) {
    registry.removeSingleMetric(`edgelb_dataplane_${name}`);
  }
  const perService = (which: 'packets' | 'bytes') =>
    new Counter({
      name: `edgelb_dataplane_${which}_total`,
      help: `${which === 'packets' ? 'Packets' : 'Bytes'} the XDP data path forwarded, per service`,
      labelNames: ['service', 'vip', 'port', 'protocol'],
      registers: [registry],
      collect() {
        this.reset();
        if (!src.opened()) return;
        for (const slot of src.services()) {
          const st = src.svcStats(slot.index);
          const s = slot.svc;
          this.inc({ service: s.name, vip: s.vip, port: String(s.port), protocol: s.protocol }, st[which]);
        }
      },
    });
  perService('packets');
  perService('bytes');
  new Counter({
    name: 'edgelb_dataplane_verdicts_total',
    help: 'Packets by XDP verdict (pass, tx, drop) and reason',
    labelNames: ['verdict', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, v] of Object.entries(src.counters())) {
        const m = /^(pass|drop|tx)(?:_(.*))?$/.exec(name);
        if (m) this.inc({ verdict: m[1]!, reason: m[2] ?? m[1]! }, v);
      }
    },
  });
  new Counter({
    name: 'edgelb_dataplane_events_total',
    help: 'XDP data path events: rx, conntrack (ct_*) and ICMP translation',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, v] of Object.entries(src.counters())) {
        if (!/^(pass|drop|tx)(_|$)/.test(name) && name !== 'redirect') this.inc({ event: name }, v);
      }
    },
  });
  new Gauge({
    name: 'edgelb_dataplane_conntrack_entries',
    help: 'Entries in the conntrack LRU (both directions of a translated flow count)',
    registers: [registry],
    collect() {
      this.set(src.conntrackEntries());
    },
  });
  new Gauge({
    name: 'edgelb_dataplane_attached',
    help: '1 when the XDP program is attached to the uplink',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      this.reset();
      const mode = src.attachMode();
      if (mode) this.set({ mode }, src.health().ok ? 1 : 0);
    },
  });
}
