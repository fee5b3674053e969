// kube-loxilb → edgelb: BGPPeerService → BGPPeer; the kube-loxilb Deployment's arguments →
// IPPools (--cidrPools, --cidr6Pools, --externalCIDR[6]), BGPPeers (--extBGPPeers), and what to
// set in the ConfigMap or on the daemon (--setBGP, --setLBMode, --numZoneInstances …); Services
// with loxilb.io/* annotations (read natively) said in notes.
import { canonicalIp, familyOf } from '../lib/addr.js';
import { k8sName, poolAddress } from './addresses.js';
import { GROUP } from './common.js';
import { Fields, isMap } from './input.js';
import { serviceNotes } from './services.js';
import { describe, Notes, type Converted, type Migration, type Note, type SourceObject } from './types.js';

const LB_MODES = ['dnat', 'onearm', 'fullnat', 'dsr'];
const LB_MODE_NAMES = ['default (dnat)', 'onearm', 'fullnat', 'dsr', 'fullproxy', 'hostonearm'];

function convertPeerService(o: SourceObject): Converted | Note[] {
  const n = new Notes(describe(o));
  const spec = Fields.of(o.raw.spec, n, 'spec');
  for (const k of spec.keys()) if (!['ipAddress', 'remoteAs', 'remotePort'].includes(k)) n.lost(spec.at(k), 'not a field of BGPPeerService edgelb knows; ignored');
  const ip = spec.str('ipAddress');
  const asn = spec.int('remoteAs', 1, 4294967295);
  if (!ip || !familyOf(ip)) n.lost('spec.ipAddress', `${ip === undefined ? 'missing' : `"${ip}" is not an IP address`}; not converted`);
  if (asn === undefined) n.lost('spec.remoteAs', 'missing or not 1..4294967295; not converted');
  if (!ip || !familyOf(ip) || asn === undefined) return n.list;
  const port = spec.int('remotePort', 1, 65535);
  n.info('', 'edgelb reads BGPPeerService objects as they are (an edgelb BGPPeer of the same address wins); the BGPPeer adds hold time, password, node selector');
  return {
    obj: { apiVersion: GROUP, kind: 'BGPPeer', metadata: { name: k8sName(o.name) }, spec: { address: canonicalIp(ip), asn, ...(port !== undefined && port !== 179 ? { port } : {}) } },
    from: [describe(o)],
    notes: n.list,
  };
}

/** "--a=b", "--a b", "-a=b" → [name, value]; a bare "--a" has value undefined. */
export function parseArgs(args: string[]): Array<{ name: string; value: string | undefined; index: number }> {
  const out: Array<{ name: string; value: string | undefined; index: number }> = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!.trim();
    const m = /^--?([A-Za-z0-9][A-Za-z0-9-]*)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    let value = m[2];
    if (value === undefined && i + 1 < args.length && !args[i + 1]!.trim().startsWith('-') && !BOOL_FLAGS.has(m[1]!)) value = args[++i]!.trim();
    out.push({ name: m[1]!, value, index: i });
  }
  return out;
}

const BOOL_FLAGS = new Set(['monitor', 'enableBGPCRDs', 'setUniqueIP', 'eBGPMultiHop', 'gatewayAPI', 'appendEPs', 'usePodNetwork', 'useExternalEndpoint', 'noZoneName', 'enableK8sMetadata']);

interface PoolDraft {
  name: string;
  cidrs: string[];
  ranges: string[];
  from: string;
}

function deploymentObjects(o: SourceObject, args: string[], n: Notes, where: string): Converted[] {
  const flags = parseArgs(args);
  const get = (name: string) => flags.filter((f) => f.name === name).pop();
  const on = (name: string) => {
    const f = get(name);
    return f !== undefined && (f.value === undefined || f.value === 'true');
  };
  const at = (name: string) => `${where} --${name}`;
  const pools = new Map<string, PoolDraft>();
  const addPool = (rawName: string, addr: string, flag: string) => {
    const name = k8sName(rawName);
    const p = pools.get(name) ?? { name, cidrs: [], ranges: [], from: flag };
    const r = poolAddress(addr);
    if (!r.ok) return n.lost(at(flag), `pool ${rawName}: ${r.message}; left out`);
    if (r.note) n.info(at(flag), `pool ${rawName}: ${r.note}`);
    if ('cidr' in r) p.cidrs.push(r.cidr);
    else p.ranges.push(r.range);
    pools.set(name, p);
    if (name !== rawName && p.cidrs.length + p.ranges.length === 1) n.info(at(flag), `pool "${rawName}" is named ${name} (Kubernetes names are lower case); Services that chose it by name: edgelb.io/pool: ${name}`);
  };
  for (const flag of ['cidrPools', 'cidr6Pools']) {
    const v = get(flag)?.value;
    if (v === undefined) continue;
    v.split(',').forEach((entry) => {
      const [pname, addr, extra] = entry.split('=');
      if (!pname || !addr || extra !== undefined) return n.lost(at(flag), `"${entry}" is not name=CIDR (or name=first-last); left out`);
      addPool(pname.trim(), addr, flag);
    });
  }
  for (const flag of ['externalCIDR', 'externalCIDR6']) {
    const v = get(flag)?.value;
    if (v) addPool('defaultPool', v, flag);
  }
  for (const flag of ['externalSecondaryCIDRs', 'externalSecondaryCIDRs6'])
    if (get(flag)) n.lost(at(flag), 'secondary addresses are for SCTP multi-homing, which edgelb does not serve');

  const asnRaw = get('setBGP')?.value;
  const asn = asnRaw !== undefined && /^\d+$/.test(asnRaw) && Number(asnRaw) > 0 && Number(asnRaw) <= 4294967295 ? Number(asnRaw) : undefined;
  if (asnRaw !== undefined && asn === undefined) n.lost(at('setBGP'), `"${asnRaw}" is not an AS number`);
  if (asn !== undefined) n.todo(at('setBGP'), `set bgp.asn: ${asn} in the edgelb ConfigMap (config.yaml)`);
  const port = get('listenBGPPort')?.value;
  if (port !== undefined) {
    if (/^\d+$/.test(port) && Number(port) <= 65535) n.todo(at('listenBGPPort'), `set bgp.listenPort: ${Number(port)} in the edgelb ConfigMap`);
    else n.lost(at('listenBGPPort'), `"${port}" is not a port`);
  }
  const out: Converted[] = [];
  const announce = asn !== undefined ? 'bgp' : 'l2';
  if (pools.size && asn === undefined) n.info(at('setBGP'), 'no --setBGP: the pools are announced by L2 (ARP/NDP from the shard master)');
  for (const p of pools.values())
    out.push({
      obj: { apiVersion: GROUP, kind: 'IPPool', metadata: { name: p.name }, spec: { ...(p.cidrs.length ? { cidrs: p.cidrs } : {}), ...(p.ranges.length ? { ranges: p.ranges } : {}), avoidBuggyIPs: false, announce, bgpMode: 'ecmp' } },
      from: [`${describe(o)} --${p.from}`],
      notes: [],
    });
  const ext = get('extBGPPeers')?.value;
  if (ext) {
    const multihop = on('eBGPMultiHop');
    for (const entry of ext.split(',')) {
      const i = entry.lastIndexOf(':');
      const ip = entry.slice(0, i).trim().replace(/^\[(.*)\]$/, '$1');
      const as = entry.slice(i + 1).trim();
      if (i < 0 || !familyOf(ip) || !/^\d+$/.test(as) || Number(as) < 1 || Number(as) > 4294967295) {
        n.lost(at('extBGPPeers'), `"${entry}" is not address:AS; left out`);
        continue;
      }
      out.push({
        obj: { apiVersion: GROUP, kind: 'BGPPeer', metadata: { name: k8sName(`loxilb-ext-${canonicalIp(ip)}`) }, spec: { address: canonicalIp(ip), asn: Number(as), ...(multihop ? { ebgpMultihop: 255 } : {}) } },
        from: [`${describe(o)} --extBGPPeers`],
        notes: [],
      });
    }
  }
  const mode = get('setLBMode')?.value;
  if (mode !== undefined) {
    const m = /^\d$/.test(mode) ? Number(mode) : -1;
    if (m >= 0 && m < LB_MODES.length) n.todo(at('setLBMode'), `run the daemon with --default-lbmode ${LB_MODES[m]} (kube-loxilb's ${LB_MODE_NAMES[m]}; edgelb's own default is onearm)`);
    else n.lost(at('setLBMode'), `mode ${mode}${m >= 0 && m < LB_MODE_NAMES.length ? ` (${LB_MODE_NAMES[m]})` : ''} has no edgelb equivalent (dnat, onearm, fullnat, dsr)`);
  } else n.todo(at('setLBMode'), "not set (kube-loxilb's default is dnat): run the daemon with --default-lbmode dnat to keep it (edgelb's own default is onearm)");
  const zones = get('numZoneInstances')?.value;
  if (zones !== undefined) {
    if (/^\d+$/.test(zones) && Number(zones) >= 1 && Number(zones) <= 4096) n.todo(at('numZoneInstances'), `set cluster.shards: ${Number(zones)} in the edgelb ConfigMap (loxilb.io/zoneinstance on a Service picks the shard)`);
    else n.lost(at('numZoneInstances'), `"${zones}" is not 1..4096`);
  }
  const uniq = get('setUniqueIP');
  if (!uniq || uniq.value === 'false') n.info(at('setUniqueIP'), 'kube-loxilb shared one address between Services with different ports; edgelb gives each Service its own unless they carry the same edgelb.io/allow-shared-ip value');
  const said: Record<string, ['lost' | 'todo' | 'info', string]> = {
    loxiURL: ['info', 'not needed: edgelb runs on the edge nodes itself'],
    monitor: ['todo', 'set loxilb.io/liveness: "yes" (or edgelb.io/liveness) on the Services whose endpoints should be probed: edgelb has no global switch'],
    setRoles: ['info', 'edgelb elects a master per shard among its own pods; on several nodes with L2 or activeBackup pools add the cluster section to the ConfigMap'],
    enableBGPCRDs: ['info', 'BGPPeerService objects are read by edgelb as they are; kube-loxilb\'s BGP policy CRDs are not (write a BGPPolicy)'],
    zone: ['info', 'edgelb has no zones'],
    noZoneName: ['info', 'edgelb writes the plain address in status.loadBalancer.ingress (no "llb-" prefix)'],
    appendEPs: ['info', 'edgelb always follows the EndpointSlices; nothing to set'],
    usePodNetwork: ['info', 'edgelb forwards to the endpoint (pod) addresses already'],
    useExternalEndpoint: ['lost', 'edgelb serves the endpoints of EndpointSlices only'],
    gatewayAPI: ['lost', 'edgelb does not implement the Gateway API'],
    loxilbGatewayClass: ['lost', 'edgelb does not implement the Gateway API'],
    loxilbLoadBalancerClass: ['info', 'Services of that class must be created again with loadBalancerClass edgelb.io/edgelb (see the Service notes)'],
    privateCIDR: ['lost', 'edgelb has no AWS elastic IP support'],
    excludeRoleList: ['lost', 'label those nodes node.kubernetes.io/exclude-from-external-load-balancers, or leave them out of the DaemonSet'],
    enableK8sMetadata: ['lost', 'edgelb does not sync Kubernetes metadata anywhere'],
    config: ['lost', 'the file is not read by this converter: pass its flags as arguments'],
    eBGPMultiHop: ['info', 'written as ebgpMultihop: 255 on the --extBGPPeers'],
  };
  const handled = new Set(['cidrPools', 'cidr6Pools', 'externalCIDR', 'externalCIDR6', 'externalSecondaryCIDRs', 'externalSecondaryCIDRs6', 'setBGP', 'listenBGPPort', 'extBGPPeers', 'setLBMode', 'numZoneInstances', 'setUniqueIP']);
  for (const f of flags) {
    if (handled.has(f.name)) continue;
    const s = said[f.name];
    if (s) n[s[0]](at(f.name), s[1]);
    else n.lost(at(f.name), 'not a kube-loxilb flag edgelb knows; ignored');
  }
  return out;
}

function convertDeployment(o: SourceObject): { objects: Converted[]; notes: Note[] } {
  const n = new Notes(describe(o));
  const tmpl = Fields.of(o.raw.spec, n, 'spec').sub('template').sub('spec');
  const containers = tmpl.list('containers');
  const objects: Converted[] = [];
  let found = false;
  containers.forEach((c, i) => {
    if (!isMap(c)) return;
    const cf = new Fields(c, n, `spec.template.spec.containers[${i}]`);
    const args = [...cf.strList('command'), ...cf.strList('args')];
    const image = cf.str('image') ?? '';
    if (cf.str('name') !== 'kube-loxilb' && !/kube-loxilb/.test(image) && !args.some((a) => /^--(cidrPools|externalCIDR|setBGP|extBGPPeers|setLBMode)\b/.test(a))) return;
    found = true;
    objects.push(...deploymentObjects(o, args, n, `${cf.path}.args`));
  });
  if (!found) n.lost('spec.template.spec.containers', 'no kube-loxilb container (name or image kube-loxilb, or its flags): skipped');
  return { objects, notes: n.list };
}

export function convertLoxilb(input: SourceObject[]): Migration {
  const notes: Note[] = [];
  const objects: Converted[] = [];
  const services: SourceObject[] = [];
  for (const o of input) {
    const n = new Notes(describe(o));
    if (o.kind === 'BGPPeerService' && o.apiVersion === 'bgppeer.loxilb.io/v1') {
      const r = convertPeerService(o);
      if (Array.isArray(r)) notes.push(...r);
      else objects.push(r);
    } else if (o.kind === 'BGPPeerService') n.lost('apiVersion', 'unknown apiVersion for BGPPeerService (known: bgppeer.loxilb.io/v1); skipped');
    else if ((o.kind === 'Deployment' || o.kind === 'DaemonSet') && o.apiVersion === 'apps/v1') {
      const r = convertDeployment(o);
      objects.push(...r.objects);
      notes.push(...r.notes);
    } else if (o.kind === 'Service' && o.apiVersion === 'v1') services.push(o);
    else if (/^bgppolicy[a-z]*\.loxilb\.io\//.test(o.apiVersion)) n.lost('', 'kube-loxilb BGP policies are not converted: write the same as an edgelb BGPPolicy (prefix sets, community sets, statements)');
    else if (o.apiVersion.includes('loxilb.io/')) n.lost('', `kube-loxilb kind ${o.kind} is not one edgelb converts; skipped`);
    else if (o.apiVersion.startsWith('metallb.io/')) n.lost('', 'a MetalLB object: convert it with `edgelb migrate metallb`');
    else n.lost('', `not a kube-loxilb object (${o.apiVersion} ${o.kind}); skipped`);
    notes.push(...n.list);
  }
  notes.push(...serviceNotes('kube-loxilb', services));
  return { objects, notes };
}
