// MetalLB's older formats as today's MetalLB objects, so one converter handles all: the ConfigMap
// `config` (MetalLB before v0.13: peers, address-pools, bgp-communities) and the AddressPool
// resource (metallb.io/v1alpha1, v1beta1). Field names are mapped as MetalLB's own configmaptocrs does.
import { parse } from 'yaml';
import { Fields, MAX_ALIASES, isMap } from './input.js';
import { describe, Notes, type Note, type SourceObject } from './types.js';

const PEER_KEYS: Record<string, string> = {
  'my-asn': 'myASN',
  'peer-asn': 'peerASN',
  'peer-address': 'peerAddress',
  'peer-port': 'peerPort',
  'source-address': 'sourceAddress',
  'hold-time': 'holdTime',
  'keepalive-time': 'keepaliveTime',
  'router-id': 'routerID',
  password: 'password',
  'bfd-profile': 'bfdProfile',
  'ebgp-multihop': 'ebgpMultiHop',
  'vrf': 'vrf',
};
const ADV_KEYS: Record<string, string> = {
  'aggregation-length': 'aggregationLength',
  'aggregation-length-v6': 'aggregationLengthV6',
  localpref: 'localPref',
  communities: 'communities',
  aggregationLength: 'aggregationLength',
  aggregationLengthV6: 'aggregationLengthV6',
  localPref: 'localPref',
};

function synth(from: SourceObject, kind: string, apiVersion: string, name: string, spec: Record<string, unknown>, where: string): SourceObject {
  return { apiVersion, kind, name, ...(from.namespace ? { namespace: from.namespace } : {}), labels: {}, raw: { apiVersion, kind, metadata: { name }, spec }, file: `${from.file}: ${from.kind} ${from.name} ${where}` };
}

function selectorsOf(list: unknown[]): unknown[] {
  return list.map((s) =>
    isMap(s)
      ? {
          ...(s['match-labels'] !== undefined ? { matchLabels: s['match-labels'] } : {}),
          ...(s['match-expressions'] !== undefined ? { matchExpressions: s['match-expressions'] } : {}),
        }
      : s,
  );
}

function poolObjects(from: SourceObject, p: Fields, name: string, where: string, out: SourceObject[], notes: Notes): void {
  const spec: Record<string, unknown> = { addresses: p.list('addresses') };
  const auto = p.has('auto-assign') ? p.bool('auto-assign') : p.bool('autoAssign');
  if (auto !== undefined) spec.autoAssign = auto;
  const buggy = p.has('avoid-buggy-ips') ? p.bool('avoid-buggy-ips') : p.bool('avoidBuggyIPs');
  if (buggy !== undefined) spec.avoidBuggyIPs = buggy;
  out.push(synth(from, 'IPAddressPool', 'metallb.io/v1beta1', name, spec, where));
  const protocol = p.str('protocol');
  if (protocol === 'layer2') out.push(synth(from, 'L2Advertisement', 'metallb.io/v1beta1', `${name}-l2`, { ipAddressPools: [name] }, where));
  else if (protocol === 'bgp') {
    const advs = p.has('bgp-advertisements') ? p.list('bgp-advertisements') : p.list('bgpAdvertisements');
    if (advs.length === 0) out.push(synth(from, 'BGPAdvertisement', 'metallb.io/v1beta1', `${name}-bgp`, { ipAddressPools: [name] }, where));
    advs.forEach((a, i) => {
      const spec2: Record<string, unknown> = { ipAddressPools: [name] };
      if (isMap(a)) for (const [k, v] of Object.entries(a)) spec2[ADV_KEYS[k] ?? k] = v;
      else notes.lost(`${where}.bgp-advertisements[${i}]`, 'must be a map; ignored');
      out.push(synth(from, 'BGPAdvertisement', 'metallb.io/v1beta1', `${name}-bgp-${i + 1}`, spec2, `${where}.bgp-advertisements[${i}]`));
    });
  } else notes.lost(`${where}.protocol`, `"${protocol ?? ''}" is neither bgp nor layer2: the pool is converted but not announced by either`);
}

/** A legacy ConfigMap or AddressPool → MetalLB objects of today, plus notes. */
export function legacyObjects(o: SourceObject): { objects: SourceObject[]; notes: Note[] } {
  const notes = new Notes(describe(o));
  const out: SourceObject[] = [];
  if (o.kind === 'AddressPool') {
    poolObjects(o, Fields.of(o.raw.spec, notes, 'spec'), o.name, 'spec', out, notes);
    notes.info('', 'AddressPool (deprecated by MetalLB) read as an IPAddressPool with its advertisements');
    return { objects: out, notes: notes.list };
  }
  let cfg: unknown;
  try {
    cfg = parse(String((o.raw.data as Record<string, unknown>).config), { maxAliasCount: MAX_ALIASES, uniqueKeys: true });
  } catch (e) {
    notes.lost('data.config', `not YAML (${(e as Error).message.split('\n')[0]}); skipped`);
    return { objects: out, notes: notes.list };
  }
  const c = Fields.of(cfg, notes, 'data.config');
  for (const k of c.keys()) if (!['peers', 'address-pools', 'bgp-communities', 'bfd-profiles'].includes(k)) notes.lost(c.at(k), 'not a MetalLB config key edgelb knows; ignored');
  c.list('peers').forEach((p, i) => {
    const where = `data.config.peers[${i}]`;
    const f = Fields.of(p, notes, where);
    const spec: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(f.map)) {
      if (k === 'node-selectors') spec.nodeSelectors = selectorsOf(Array.isArray(v) ? v : [v]);
      else spec[PEER_KEYS[k] ?? k] = v;
    }
    out.push(synth(o, 'BGPPeer', 'metallb.io/v1beta2', `peer${i + 1}`, spec, where));
  });
  const comms = c.sub('bgp-communities');
  if (comms.keys().length)
    out.push(synth(o, 'Community', 'metallb.io/v1beta1', 'communities', { communities: comms.keys().map((name) => ({ name, value: comms.str(name) })) }, 'data.config.bgp-communities'));
  if (c.list('bfd-profiles').length) notes.lost('data.config.bfd-profiles', 'legacy BFD profiles are not converted: set spec.bfd (minRx, minTx, multiplier) on the BGPPeers by hand');
  c.list('address-pools').forEach((p, i) => {
    const where = `data.config.address-pools[${i}]`;
    const f = Fields.of(p, notes, where);
    const name = f.str('name');
    if (!name) return notes.lost(where, 'a pool without a name; skipped');
    poolObjects(o, f, name, where, out, notes);
  });
  notes.info('', 'MetalLB ConfigMap (before v0.13) read as today\'s MetalLB objects, then converted');
  return { objects: out, notes: notes.list };
}
