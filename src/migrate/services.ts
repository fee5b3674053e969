// Services of MetalLB and kube-loxilb users: what edgelb reads of them as they are, what to set
// (the class, an annotation), and what it cannot carry over. edgelb never rewrites a Service here:
// everything is said in notes, printed as comments and on stderr.
import { LB_CLASS } from '../k8s/annotations.js';
import { k8sName } from './addresses.js';
import { Fields, isMap } from './input.js';
import { describe, Notes, type Note, type SourceKind, type SourceObject } from './types.js';

/** Annotations edgelb reads as they are (src/k8s/annotations.ts, translate.ts). */
const METALLB_NATIVE = ['address-pool', 'loadBalancerIPs', 'allow-shared-ip'];
const LOXI_NATIVE = ['staticIP', 'lbmode', 'liveness', 'probetype', 'probeport', 'probereq', 'proberesp', 'probetimeout', 'proberetries', 'epselect', 'timeout', 'zoneinstance', 'ipam', 'allow-shared-ip'];
const LOXI_LOST: Record<string, string> = {
  'multus-nets': 'edgelb sends traffic to the endpoints of the Service\'s EndpointSlices only, not to Multus networks',
  secondaryIPs: 'SCTP multi-homing is not supported (edgelb serves TCP and UDP)',
  'num-secondary-networks': 'SCTP multi-homing is not supported (edgelb serves TCP and UDP)',
  poolSelectSecondary: 'SCTP multi-homing is not supported (edgelb serves TCP and UDP)',
  egress: 'edgelb does no egress NAT',
  usepodnetwork: 'edgelb forwards to the endpoint addresses of the EndpointSlices already (pod IPs); nothing to set',
  useExternalEndpoint: 'edgelb serves the endpoints of EndpointSlices only',
  useproxyprotov2: 'edgelb is an L4 load balancer without the PROXY protocol',
  prefLocalPod: 'use externalTrafficPolicy: Local (only nodes with a ready local endpoint announce)',
  nodelabel: 'edgelb announces from every edge node with a ready edgelb pod; choose the nodes with the DaemonSet nodeSelector',
  zonelabel: 'edgelb has no zones; shards are spread over the cluster members',
  zoneselect: 'edgelb has no zones; shards are spread over the cluster members',
};
const LOXI_MODES: Record<string, string> = { default: 'dnat', onearm: 'onearm', fullnat: 'fullnat', dsr: 'dsr' };

function metallbAnnotations(key: string, value: string, n: Notes): void {
  const m = /^metallb\.(?:universe\.tf|io)\/(.+)$/.exec(key);
  if (!m) return;
  const field = `metadata.annotations["${key}"]`;
  if (METALLB_NATIVE.includes(m[1]!)) n.info(field, `read by edgelb as it is${m[1] === 'address-pool' ? ` (the IPPool of that name: ${k8sName(value)})` : ''}`);
  else if (m[1] === 'ip-allocated-from-pool') n.info(field, 'written by MetalLB; edgelb writes its own edgelb.io/assigned-pool');
  else n.lost(field, 'not read by edgelb');
}

function loxiAnnotations(key: string, value: string, n: Notes): void {
  if (!key.startsWith('loxilb.io/')) return;
  const k = key.slice('loxilb.io/'.length);
  const field = `metadata.annotations["${key}"]`;
  if (k === 'poolSelect') n.todo(field, `edgelb does not read loxilb.io/poolSelect: set the annotation edgelb.io/pool: ${k8sName(value)}`);
  else if (k === 'lbmode' && !LOXI_MODES[value.toLowerCase()]) n.lost(field, `lbmode "${value}" is not one edgelb has (default = dnat, onearm, fullnat, dsr); edgelb uses its default mode`);
  else if (k === 'epselect' && !['rr', 'roundrobin', 'hash', 'persist', 'lc'].includes(value.toLowerCase())) n.lost(field, `epselect "${value}" is not one edgelb has (rr, hash, persist, lc, maglev); edgelb uses maglev`);
  else if (k === 'probetype' && value.toLowerCase() === 'sctp') n.lost(field, 'SCTP probes are not supported (edgelb serves TCP and UDP)');
  else if (LOXI_NATIVE.includes(k)) n.info(field, 'read by edgelb as it is');
  else if (LOXI_LOST[k]) n.lost(field, LOXI_LOST[k]!);
  else if (k.startsWith('mtls-')) n.lost(field, 'edgelb is an L4 load balancer: no TLS');
  else n.lost(field, 'not read by edgelb');
}

/** Notes for the Services in the input, as the users of `tool` wrote them. */
export function serviceNotes(tool: SourceKind, services: SourceObject[]): Note[] {
  const out: Note[] = [];
  let other = 0;
  for (const o of services) {
    const n = new Notes(describe(o));
    const spec = Fields.of(o.raw.spec, n, 'spec');
    if (spec.str('type') !== 'LoadBalancer') {
      other++;
      continue;
    }
    const cls = spec.str('loadBalancerClass');
    const status = isMap(o.raw.status) && isMap(o.raw.status.loadBalancer) && Array.isArray(o.raw.status.loadBalancer.ingress) ? o.raw.status.loadBalancer.ingress : [];
    const ips = status.map((i) => (isMap(i) && typeof i.ip === 'string' ? i.ip : undefined)).filter((x): x is string => !!x);
    const keep = ips.length ? ` and the annotation edgelb.io/staticIP: "${ips.join(',')}" to keep its address` : '';
    if (cls === LB_CLASS) n.info('spec.loadBalancerClass', 'already edgelb\'s class');
    else if (cls === undefined) {
      if (tool === 'metallb') n.todo('spec.loadBalancerClass', 'no class, as MetalLB serves them: run edgelb with `edgelb daemon --kubernetes --default-class` (a class cannot be added to an existing Service)');
      else n.todo('spec.loadBalancerClass', 'no class: kube-loxilb did not serve it; edgelb does with `--default-class`');
    } else n.todo('spec.loadBalancerClass', `"${cls}" cannot be changed on a Service: delete it and create it again with spec.loadBalancerClass: ${LB_CLASS}${keep} (plan the downtime)`);
    const ann = isMap(o.raw.metadata) && isMap(o.raw.metadata.annotations) ? o.raw.metadata.annotations : {};
    const hasLoxi = Object.keys(ann).some((k) => k.startsWith('loxilb.io/'));
    for (const [k, v] of Object.entries(ann)) {
      const value = typeof v === 'string' ? v : String(v);
      if (tool === 'metallb') metallbAnnotations(k, value, n);
      else loxiAnnotations(k, value, n);
    }
    if (tool === 'kube-loxilb') {
      if (!('loxilb.io/epselect' in ann)) n.info('metadata.annotations', 'no epselect: kube-loxilb used round robin, edgelb uses maglev (consistent hashing); set edgelb.io/epselect: rr to keep round robin');
      if (hasLoxi && ('loxilb.io/liveness' in ann || 'loxilb.io/probetype' in ann) && !('loxilb.io/probetimeout' in ann)) n.info('metadata.annotations', 'probe timeout: edgelb waits 2 s per probe unless loxilb.io/probetimeout says otherwise');
      if (!('loxilb.io/lbmode' in ann)) n.info('metadata.annotations', 'no lbmode: kube-loxilb used its --setLBMode (default: dnat), edgelb its --default-lbmode (default: onearm); see the Deployment notes');
    }
    spec.list('ports').forEach((p, i) => {
      const proto = isMap(p) && typeof p.protocol === 'string' ? p.protocol.toUpperCase() : 'TCP';
      if (proto !== 'TCP' && proto !== 'UDP') n.lost(`spec.ports[${i}]`, `${proto} is not served by edgelb (TCP and UDP only)`);
    });
    if (spec.str('loadBalancerIP')) n.info('spec.loadBalancerIP', 'read by edgelb as it is (deprecated by Kubernetes: prefer edgelb.io/staticIP)');
    out.push(...n.list);
  }
  if (other) out.push({ kind: 'info', source: `${other} Service(s)`, field: 'spec.type', message: 'not of type LoadBalancer: nothing to do' });
  return out;
}
