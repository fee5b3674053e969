// Registering a prom-client metric once per registry: several engines (or a restarted one) may
// ask for the same metric on the same registry; the second asker gets the first one's instance.
import { Counter, Gauge, type CounterConfiguration, type GaugeConfiguration, type Registry } from 'prom-client';

export function counterOn<L extends string>(registry: Registry, cfg: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
  return (registry.getSingleMetric(cfg.name) as Counter<L> | undefined) ?? new Counter<L>({ ...cfg, registers: [registry] });
}

export function gaugeOn<L extends string>(registry: Registry, cfg: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
  return (registry.getSingleMetric(cfg.name) as Gauge<L> | undefined) ?? new Gauge<L>({ ...cfg, registers: [registry] });
}
