// Reports this node's settings problems where users look: a Warning Event on its own Node object
// for each refused annotation (InvalidNodeSetting) or ConfigMap (InvalidConfig), and for a change
// that waits for a restart (RestartRequired), each written once per distinct message; gauges
// edgelb_node_setting_invalid and edgelb_node_restart_required; and a log line. The node writes
// these itself (DaemonSet pods may create Events), so they do not wait for the leader.
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { involvedEvent } from './status.js';
import type { KubeWriter } from './client.js';
import type { ResolvedSettings } from './node-settings.js';

export interface NodeEventsOptions {
  writer: Pick<KubeWriter, 'createEvent'> | undefined;
  nodeName: string;
  identity: string;
  logger: Logger;
  registry: Registry;
}

export class NodeEvents {
  private readonly o: NodeEventsOptions;
  private readonly sent = new Set<string>();
  private readonly invalidG: Gauge;
  private readonly restartG: Gauge;
  private configProblem = '';

  constructor(o: NodeEventsOptions) {
    this.o = o;
    const reg = [o.registry];
    const get = (name: string, help: string) => (o.registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: reg });
    this.invalidG = get('edgelb_node_setting_invalid', 'Per-node settings refused now (Node annotations, the ConfigMap): the last good values are used');
    this.restartG = get('edgelb_node_restart_required', '1 when node-level settings changed since the start: they apply when the pod restarts');
  }

  /** The ConfigMap file was refused on reload ('' once a good one is back). */
  configRejected(message: string, nodeUid?: string): void {
    this.configProblem = message;
    if (message) this.event('InvalidConfig', `ConfigMap settings refused, keeping the last good ones: ${message}`, nodeUid);
  }

  report(r: ResolvedSettings, nodeUid?: string): void {
    this.invalidG.set(r.problems.length + (this.configProblem ? 1 : 0));
    this.restartG.set(r.restartRequired ? 1 : 0);
    for (const p of r.problems) this.event('InvalidNodeSetting', p.message, nodeUid);
    if (r.restartRequired) this.event('RestartRequired', `node-level settings changed (${r.restartRequired}): this node keeps running on the values it started with; restart its edgelb pod to apply them`, nodeUid);
  }

  private event(reason: string, message: string, nodeUid?: string): void {
    const id = `${reason}\n${message}`;
    if (this.sent.has(id)) return;
    this.sent.add(id);
    if (this.sent.size > 256) this.sent.delete(this.sent.values().next().value!);
    this.o.logger.warn({ node: this.o.nodeName, reason }, message);
    const w = this.o.writer;
    if (!w) return;
    const ev = involvedEvent({ kind: 'Node', apiVersion: 'v1', name: this.o.nodeName, ...(nodeUid ? { uid: nodeUid } : {}) }, { type: 'Warning', reason, message }, this.o.identity, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    void w.createEvent(ev.namespace, ev.body).catch((e: unknown) => this.o.logger.debug({ err: errorMessage(e), reason }, 'node event not written'));
  }
}
