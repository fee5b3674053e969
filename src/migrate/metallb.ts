// MetalLB → edgelb: IPAddressPool → IPPool (announce from the advertisements that select it),
// BGPPeer → BGPPeer, BGPAdvertisement localPref/communities → BGPPolicy, L2Advertisement → pools
// announced by L2, Community aliases resolved. Everything else is said in notes.
import { selectorMatches } from '../k8s/annotations.js';
import type { LabelSelector } from '../k8s/types.js';
import { k8sName, poolAddress, poolPrefixes } from './addresses.js';
import { communityOf, GROUP, selectorOf } from './common.js';
import { Fields } from './input.js';
import { legacyObjects } from './metallb-legacy.js';
import { convertPeer } from './metallb-peers.js';
import { serviceNotes } from './services.js';
import { describe, Notes, type Converted, type Migration, type Note, type SourceObject } from './types.js';

const VERSIONS: Record<string, string[]> = {
  IPAddressPool: ['metallb.io/v1beta1'],
  BGPAdvertisement: ['metallb.io/v1beta1'],
  L2Advertisement: ['metallb.io/v1beta1'],
  Community: ['metallb.io/v1beta1'],
  BFDProfile: ['metallb.io/v1beta1'],
  BGPPeer: ['metallb.io/v1beta1', 'metallb.io/v1beta2'],
  AddressPool: ['metallb.io/v1alpha1', 'metallb.io/v1beta1'],
};

interface Pool {
  src: SourceObject;
  name: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
  cidrs: string[];
  ranges: string[];
  bgp: boolean;
  l2: boolean;
  notes: Notes;
}

function convertPool(o: SourceObject): Pool | { notes: Notes } {
  const notes = new Notes(describe(o));
  const spec = Fields.of(o.raw.spec, notes, 'spec');
  for (const k of spec.keys())
    if (!['addresses', 'autoAssign', 'avoidBuggyIPs', 'serviceAllocation'].includes(k)) notes.lost(spec.at(k), 'not a field of MetalLB IPAddressPool edgelb knows; ignored');
  const cidrs: string[] = [];
  const ranges: string[] = [];
  spec.strList('addresses').forEach((a, i) => {
    const r = poolAddress(a);
    if (!r.ok) return notes.lost(`spec.addresses[${i}]`, `${r.message}; left out`);
    if (r.note) notes.info(`spec.addresses[${i}]`, r.note);
    if ('cidr' in r) {
      if (!cidrs.includes(r.cidr)) cidrs.push(r.cidr);
    } else if (!ranges.includes(r.range)) ranges.push(r.range);
  });
  if (cidrs.length + ranges.length === 0) {
    notes.lost('spec.addresses', 'no usable address: this pool is not converted');
    return { notes };
  }
  if (cidrs.length > 64 || ranges.length > 64) {
    notes.lost('spec.addresses', `more than 64 CIDRs or 64 ranges (an IPPool holds at most 64 of each): split this pool by hand; not converted`);
    return { notes };
  }
  const out: Record<string, unknown> = {
    ...(cidrs.length ? { cidrs } : {}),
    ...(ranges.length ? { ranges } : {}),
    // MetalLB uses .0 and .255 unless told; edgelb's IPPool default is the other way: always written
    avoidBuggyIPs: spec.bool('avoidBuggyIPs') ?? false,
  };
  const auto = spec.bool('autoAssign');
  if (auto === false) out.autoAssign = false;
  const alloc = spec.sub('serviceAllocation');
  const prio = alloc.int('priority', 0, 1_000_000);
  if (prio !== undefined) out.priority = prio;
  const ns = alloc.strList('namespaces');
  if (ns.length) out.namespaces = ns;
  for (const [from, to] of [['namespaceSelectors', 'namespaceSelector'], ['serviceSelectors', 'serviceSelector']] as const) {
    const list = alloc.list(from);
    if (list.length === 0) continue;
    if (list.length === 1) {
      const s = selectorOf(list[0], notes, `${alloc.at(from)}[0]`);
      if (s) out[to] = s;
    } else notes.lost(alloc.at(from), `${list.length} selectors (any may match) but an IPPool takes one ${to}: write it by hand; none is set, so the pool is open to more Services than before`);
  }
  return { src: o, name: k8sName(o.name), labels: o.labels, spec: out, cidrs, ranges, bgp: false, l2: false, notes };
}

/** The pools an advertisement applies to: named, selected by label, or (neither) all. */
function selectedPools(o: SourceObject, spec: Fields, pools: Pool[], notes: Notes): Pool[] {
  const names = spec.strList('ipAddressPools');
  const selRaw = spec.list('ipAddressPoolSelectors');
  if (names.length === 0 && selRaw.length === 0) return pools;
  const out = new Set<Pool>();
  names.forEach((n, i) => {
    const p = pools.find((x) => x.src.name === n);
    if (p) out.add(p);
    else notes.lost(`spec.ipAddressPools[${i}]`, `no IPAddressPool "${n}" in the input (or it was not converted)`);
  });
  selRaw.forEach((s, i) => {
    const sel = selectorOf(s, notes, `spec.ipAddressPoolSelectors[${i}]`);
    if (sel) for (const p of pools) if (selectorMatches(sel as LabelSelector, p.labels)) out.add(p);
  });
  if (out.size === 0) notes.lost('spec', `selects no IPAddressPool of the input (${describe(o)})`);
  return [...out];
}

function aliasesOf(objs: SourceObject[], notes: Note[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of objs) {
    const n = new Notes(describe(o));
    Fields.of(o.raw.spec, n, 'spec')
      .list('communities')
      .forEach((c, i) => {
        const f = Fields.of(c, n, `spec.communities[${i}]`);
        const name = f.str('name');
        const value = f.str('value');
        if (name && value) m.set(name, value);
        else n.lost(f.path, 'needs name and value');
      });
    n.info('', 'aliases resolved into the BGPPolicies; edgelb has no Community object');
    notes.push(...n.list);
  }
  return m;
}

function advertisementPolicy(o: SourceObject, spec: Fields, pools: Pool[], aliases: Map<string, string>, peerNames: Map<string, string | undefined>, notes: Notes): Converted | undefined {
  const localPref = spec.int('localPref', 0, 4294967295);
  const std: string[] = [];
  const large: string[] = [];
  spec.strList('communities').forEach((c, i) => {
    const r = communityOf(c, aliases);
    if ('error' in r) notes.lost(`spec.communities[${i}]`, `${r.error}; left out`);
    else if ('standard' in r) std.push(r.standard);
    else large.push(r.large);
  });
  if (localPref === undefined && std.length === 0 && large.length === 0) return undefined;
  const prefixes = pools.flatMap((p) => poolPrefixes(p.cidrs, p.ranges));
  if (prefixes.length > 1024) {
    notes.lost('spec', `its pools make ${prefixes.length} prefixes, more than a BGPPolicy prefix set holds (1024): localPref and communities not converted`);
    return undefined;
  }
  const peers: string[] = [];
  const named = spec.strList('peers');
  if (named.length) {
    named.forEach((n, i) => {
      const ours = peerNames.get(n);
      if (ours) peers.push(ours);
      else notes.lost(`spec.peers[${i}]`, `BGPPeer "${n}" is not in the input or was not converted`);
    });
  } else {
    for (const v of peerNames.values()) if (v) peers.push(v);
    if (peers.length === 0) notes.todo('spec.peers', 'no BGPPeer in the input: list the BGPPeers this policy applies to under spec.peers (or in their exportPolicies)');
  }
  const name = k8sName(`metallb-${o.name}`);
  const actions: Record<string, unknown> = {};
  if (localPref !== undefined) {
    actions.localPref = localPref;
    notes.info('spec.localPref', 'LOCAL_PREF is sent to iBGP peers only (as MetalLB does)');
  }
  if (std.length) actions.addCommunities = std;
  if (large.length) actions.addLargeCommunities = large;
  const spec2: Record<string, unknown> = {
    prefixSets: [{ name: 'pools', prefixes }],
    statements: [{ name: 'advertisement', match: { prefixSet: 'pools' }, actions }],
    ...(peers.length ? { peers } : {}),
  };
  return { obj: { apiVersion: GROUP, kind: 'BGPPolicy', metadata: { name }, spec: spec2 }, from: [describe(o)], notes: notes.list };
}

export function convertMetallb(input: SourceObject[]): Migration {
  const notes: Note[] = [];
  const objects: Converted[] = [];
  const byKind = new Map<string, SourceObject[]>();
  const expanded: SourceObject[] = [];
  for (const o of input) {
    if (o.kind === 'ConfigMap' && o.apiVersion === 'v1' && typeof (o.raw.data as Record<string, unknown> | undefined)?.config === 'string') {
      const r = legacyObjects(o);
      expanded.push(...r.objects);
      notes.push(...r.notes);
    } else if (o.kind === 'AddressPool' && VERSIONS.AddressPool!.includes(o.apiVersion)) {
      const r = legacyObjects(o);
      expanded.push(...r.objects);
      notes.push(...r.notes);
    } else expanded.push(o);
  }
  for (const o of expanded) {
    const n = new Notes(describe(o));
    if (o.apiVersion.startsWith('metallb.io/')) {
      const versions = VERSIONS[o.kind];
      if (!versions) n.lost('kind', `MetalLB kind ${o.kind} is not one edgelb converts; skipped`);
      else if (!versions.includes(o.apiVersion)) n.lost('apiVersion', `unknown apiVersion for ${o.kind} (known: ${versions.join(', ')}); skipped`);
      else (byKind.get(o.kind) ?? byKind.set(o.kind, []).get(o.kind)!).push(o);
    } else if (o.kind === 'Service' && o.apiVersion === 'v1') (byKind.get('Service') ?? byKind.set('Service', []).get('Service')!).push(o);
    else if (o.kind === 'Secret' && o.apiVersion === 'v1') n.info('', `not converted: if a BGPPeer's passwordSecret names it, copy it into edgelb-system (see that BGPPeer)`);
    else if (o.apiVersion.includes('loxilb.io')) n.lost('', 'a kube-loxilb object: convert it with `edgelb migrate kube-loxilb`');
    else n.lost('', `not a MetalLB object (${o.apiVersion} ${o.kind}); skipped`);
    notes.push(...n.list);
  }
  const of = (k: string) => byKind.get(k) ?? [];
  const aliases = aliasesOf(of('Community'), notes);
  // BFD profiles become the spec.bfd of each BGPPeer that names them
  const bfdProfiles = new Map(of('BFDProfile').map((o) => [o.name, o]));
  for (const o of of('BFDProfile')) notes.push({ kind: 'info', source: describe(o), field: '', message: 'converted into spec.bfd of each BGPPeer that names it' });

  const pools: Pool[] = [];
  for (const o of of('IPAddressPool')) {
    const r = convertPool(o);
    if ('src' in r) pools.push(r);
    else notes.push(...r.notes.list);
  }

  // peers, and the local ASN they name (node-level in edgelb)
  const peerNames = new Map<string, string | undefined>();
  const asns = new Map<number, string[]>();
  for (const o of of('BGPPeer')) {
    const r = convertPeer(o, bfdProfiles);
    peerNames.set(r.sourceName, r.name);
    if (r.myAsn !== undefined) asns.set(r.myAsn, [...(asns.get(r.myAsn) ?? []), o.name]);
    if (r.name) objects.push(...r.objects);
    else notes.push(...r.notes.list);
  }
  const asnList = [...asns.entries()].sort((a, b) => b[1].length - a[1].length);
  if (asnList.length >= 1) {
    notes.push({ kind: 'todo', source: 'MetalLB BGPPeer myASN', field: 'spec.myASN', message: `set bgp.asn: ${asnList[0]![0]} in the edgelb ConfigMap (config.yaml): edgelb's local ASN is a node setting, not a peer field` });
    for (const [asn, names] of asnList.slice(1))
      notes.push({ kind: 'lost', source: 'MetalLB BGPPeer myASN', field: 'spec.myASN', message: `BGPPeers ${names.join(', ')} use local ASN ${asn}, but one edgelb node has one ASN (${asnList[0]![0]}): their sessions open with the wrong AS unless those nodes get their own bgp.asn` });
  }

  // advertisements: how each pool is announced, and BGPPolicies for localPref and communities
  for (const o of of('BGPAdvertisement')) {
    const n = new Notes(describe(o));
    const spec = Fields.of(o.raw.spec, n, 'spec');
    const known = ['ipAddressPools', 'ipAddressPoolSelectors', 'aggregationLength', 'aggregationLengthV6', 'localPref', 'communities', 'peers', 'nodeSelectors', 'serviceSelectors'];
    for (const k of spec.keys()) if (!known.includes(k)) n.lost(spec.at(k), 'not a field of MetalLB BGPAdvertisement edgelb knows; ignored');
    const sel = selectedPools(o, spec, pools, n);
    for (const p of sel) p.bgp = true;
    const agg4 = spec.int('aggregationLength', 0, 32);
    const agg6 = spec.int('aggregationLengthV6', 0, 128);
    if (agg4 !== undefined && agg4 !== 32) n.lost('spec.aggregationLength', `edgelb announces each IPv4 address as a /32; an aggregate /${agg4} is not announced`);
    if (agg6 !== undefined && agg6 !== 128) n.lost('spec.aggregationLengthV6', `edgelb announces each IPv6 address as a /128; an aggregate /${agg6} is not announced`);
    if (spec.list('nodeSelectors').length) {
      n.lost('spec.nodeSelectors', 'edgelb announces from every edge node with a ready edgelb pod; choose the nodes with the DaemonSet nodeSelector, or label the others node.kubernetes.io/exclude-from-external-load-balancers');
    }
    if (spec.list('serviceSelectors').length) n.lost('spec.serviceSelectors', 'edgelb announces every Service of a pool the same way; put these Services in a pool of their own');
    const pol = advertisementPolicy(o, spec, sel, aliases, peerNames, n);
    if (pol) objects.push(pol);
    else notes.push(...n.list);
  }
  for (const o of of('L2Advertisement')) {
    const n = new Notes(describe(o));
    const spec = Fields.of(o.raw.spec, n, 'spec');
    const known = ['ipAddressPools', 'ipAddressPoolSelectors', 'interfaces', 'nodeSelectors', 'serviceSelectors', 'preferredNodeSelectors'];
    for (const k of spec.keys()) if (!known.includes(k)) n.lost(spec.at(k), 'not a field of MetalLB L2Advertisement edgelb knows; ignored');
    for (const p of selectedPools(o, spec, pools, n)) p.l2 = true;
    const ifs = spec.strList('interfaces');
    if (ifs.length) n.todo('spec.interfaces', `edgelb answers ARP/NDP on the uplink node.interface of the ConfigMap (one per node): set it to ${ifs.length === 1 ? ifs[0] : `one of ${ifs.join(', ')}`}`);
    if (spec.list('nodeSelectors').length) n.lost('spec.nodeSelectors', 'edgelb answers from the shard master among every edge node with a ready edgelb pod; choose the nodes with the DaemonSet nodeSelector');
    if (spec.list('preferredNodeSelectors').length) n.lost('spec.preferredNodeSelectors', 'edgelb picks the shard master itself (rendezvous hashing); no preference');
    if (spec.list('serviceSelectors').length) n.lost('spec.serviceSelectors', 'edgelb announces every Service of a pool the same way; put these Services in a pool of their own');
    notes.push(...n.list);
  }
  if (of('L2Advertisement').length)
    notes.push({ kind: 'todo', source: 'MetalLB L2Advertisement', field: '', message: 'L2 on more than one node needs the cluster section in the edgelb ConfigMap (see docs/kubernetes.md): without it every node answers ARP for every address' });

  for (const p of pools) {
    if (!p.bgp && !p.l2) p.notes.lost('', 'no BGPAdvertisement or L2Advertisement selects this pool, so MetalLB gives out its addresses but does not announce them; edgelb always announces a pool: written as announce: bgp, change it if needed');
    const announce = p.bgp && p.l2 ? 'both' : p.l2 ? 'l2' : 'bgp';
    objects.push({ obj: { apiVersion: GROUP, kind: 'IPPool', metadata: { name: p.name }, spec: { ...p.spec, announce, bgpMode: 'ecmp' } }, from: [describe(p.src)], notes: p.notes.list });
  }
  notes.push(...serviceNotes('metallb', of('Service')));
  return { objects, notes };
}
