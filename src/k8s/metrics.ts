// Metrics of the Kubernetes source (edgelb_k8s_*), registered on the registry it is given.
import { Counter, Gauge, type Registry } from 'prom-client';

export class K8sMetrics {
  private readonly leaderG: Gauge;
  private readonly syncedG: Gauge;
  private readonly allocG: Gauge;
  private readonly ipamFailures: Counter;
  private readonly writes: Counter;
  private readonly states: Counter;
  private readonly reconciles: Counter;
  private readonly translateErrors: Counter;

  constructor(registry: Registry) {
    const reg = [registry];
    const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.leaderG = get('edgelb_k8s_leader', () => new Gauge({ name: 'edgelb_k8s_leader', help: '1 while this pod holds the leader Lease', registers: reg }));
    this.syncedG = get('edgelb_k8s_synced', () => new Gauge({ name: 'edgelb_k8s_synced', help: '1 once every watched resource has been listed', registers: reg }));
    this.allocG = get('edgelb_k8s_ipam_allocations', () => new Gauge({ name: 'edgelb_k8s_ipam_allocations', help: 'Services holding an address (leader)', registers: reg }));
    this.ipamFailures = get('edgelb_k8s_ipam_failures_total', () => new Counter({ name: 'edgelb_k8s_ipam_failures_total', help: 'assignments refused, by reason', labelNames: ['reason'], registers: reg }));
    this.writes = get('edgelb_k8s_writes_total', () => new Counter({ name: 'edgelb_k8s_writes_total', help: 'API writes by kind and result', labelNames: ['kind', 'result'], registers: reg }));
    this.states = get('edgelb_k8s_state_updates_total', () => new Counter({ name: 'edgelb_k8s_state_updates_total', help: 'DesiredState updates emitted', registers: reg }));
    this.translateErrors = get('edgelb_k8s_translate_errors_total', () => new Counter({ name: 'edgelb_k8s_translate_errors_total', help: 'translations or leader plans that threw (the last good state was kept)', registers: reg }));
    this.reconciles = get('edgelb_k8s_reconciles_total', () => new Counter({ name: 'edgelb_k8s_reconciles_total', help: 'leader reconcile passes', registers: reg }));
  }
  leader(v: boolean): void {
    this.leaderG.set(v ? 1 : 0);
  }
  synced(v: boolean): void {
    this.syncedG.set(v ? 1 : 0);
  }
  allocations(n: number): void {
    this.allocG.set(n);
  }
  ipamFailure(reason: string): void {
    this.ipamFailures.inc({ reason });
  }
  write(kind: string, result: string): void {
    this.writes.inc({ kind, result });
  }
  stateUpdate(): void {
    this.states.inc();
  }
  translateError(): void {
    this.translateErrors.inc();
  }
  reconcile(): void {
    this.reconciles.inc();
  }
}
