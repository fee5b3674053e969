// MetalLB BGPPeer (metallb.io/v1beta1 and v1beta2) → edgelb BGPPeer (and a Secret for an inline
// password). myASN is node-level in edgelb (bgp.asn of the ConfigMap): the caller gathers it.
import { familyOf, canonicalIp } from '../lib/addr.js';
import { goDuration, k8sName } from './addresses.js';
import { EDGELB_NAMESPACE, GROUP, mergeSelectors } from './common.js';
import { Fields } from './input.js';
import { describe, Notes, type Converted, type SourceObject } from './types.js';

/** MetalLB's hold time when a BGPPeer gives none (edgelb's own default is 9 s). */
export const METALLB_HOLD_TIME = 90;

export interface PeerResult {
  /** Our BGPPeer name (absent when the peer was not converted). */
  name?: string;
  /** MetalLB's name, for advertisements that list peers. */
  sourceName: string;
  myAsn?: number;
  objects: Converted[];
  notes: Notes;
}

const KNOWN = new Set([
  'myASN', 'peerASN', 'peerAddress', 'peerPort', 'holdTime', 'keepaliveTime', 'connectTime', 'password', 'passwordSecret',
  'ebgpMultiHop', 'bfdProfile', 'nodeSelectors', 'sourceAddress', 'routerID', 'vrf', 'enableGracefulRestart', 'disableMP',
  'dualStackAddressFamily', 'interface', 'dynamicASN', 'localASN',
]);

function seconds(f: Fields, key: string, notes: Notes): number | undefined {
  const raw = f.str(key);
  if (raw === undefined) return undefined;
  const s = goDuration(raw);
  if (s === undefined) {
    notes.lost(f.at(key), `"${raw}" is not a duration like 90s or 1m30s; left out`);
    return undefined;
  }
  if (!Number.isInteger(s)) notes.info(f.at(key), `${raw} is not whole seconds; written as ${Math.round(s)} s`);
  return Math.round(s);
}

/**
 * A MetalLB BFDProfile → edgelb's BGPPeer spec.bfd (intervals in ms, as MetalLB's). Echo and
 * passive modes and minimumTtl have no edgelb equivalent: they are named as lost.
 */
function bfdOf(profile: SourceObject, notes: Notes): { minRx: number; minTx: number; multiplier: number } {
  const f = Fields.of(profile.raw.spec ?? {}, notes, `BFDProfile ${profile.name} spec`);
  const bfd = { minRx: f.int('receiveInterval', 10, 60000) ?? 300, minTx: f.int('transmitInterval', 10, 60000) ?? 300, multiplier: f.int('detectMultiplier', 1, 255) ?? 3 };
  for (const k of ['echoMode', 'echoInterval', 'passiveMode', 'minimumTtl']) {
    if (f.has(k)) notes.lost(`spec.bfdProfile`, `BFDProfile ${profile.name} ${k}: edgelb runs asynchronous mode, active, TTL 255 (RFC 5881); not carried over`);
  }
  return bfd;
}

export function convertPeer(o: SourceObject, bfdProfiles: ReadonlyMap<string, SourceObject> = new Map()): PeerResult {
  const notes = new Notes(describe(o));
  const res: PeerResult = { sourceName: o.name, objects: [], notes };
  const spec = Fields.of(o.raw.spec, notes, 'spec');
  for (const k of spec.keys()) if (!KNOWN.has(k)) notes.lost(spec.at(k), 'not a field edgelb knows of MetalLB BGPPeer; ignored');
  const myAsn = spec.int('myASN', 1, 4294967295);
  if (myAsn !== undefined) res.myAsn = myAsn;
  else notes.lost('spec.myASN', 'missing or invalid: set bgp.asn in the edgelb ConfigMap by hand');

  // what makes the peer impossible to carry over: say it and stop
  const stop = (field: string, why: string): PeerResult => {
    notes.lost(field, `${why}; this BGPPeer is not converted`);
    return res;
  };
  if (spec.has('vrf') && spec.str('vrf') !== '') return stop('spec.vrf', `edgelb peers in the default VRF only (vrf "${spec.str('vrf')}")`);
  if (spec.has('interface')) return stop('spec.interface', 'edgelb has no unnumbered (interface) peering: it needs peerAddress');
  if (spec.has('dynamicASN')) return stop('spec.dynamicASN', 'edgelb needs the peer AS number (peerASN)');
  const asn = spec.int('peerASN', 1, 4294967295);
  if (asn === undefined) return stop('spec.peerASN', 'missing or not 1..4294967295');
  const address = spec.str('peerAddress');
  if (!address || !familyOf(address)) return stop('spec.peerAddress', `${address === undefined ? 'missing' : `"${address}" is not an IP address`}`);

  const name = k8sName(o.name);
  const out: Record<string, unknown> = { address: canonicalIp(address), asn };
  const port = spec.int('peerPort', 1, 65535);
  if (port !== undefined && port !== 179) out.port = port;

  let hold = seconds(spec, 'holdTime', notes);
  if (hold === undefined && !spec.has('holdTime')) {
    hold = METALLB_HOLD_TIME;
    notes.info('spec.holdTime', `not set: MetalLB's default ${METALLB_HOLD_TIME} s written (edgelb's own default is 9 s)`);
  }
  if (hold !== undefined) {
    if (hold !== 0 && (hold < 3 || hold > 65535)) notes.lost('spec.holdTime', `${hold} s: a hold time must be 0 or 3..65535 s (RFC 4271); left at edgelb's default 9 s`);
    else out.holdTime = hold;
  }
  const keep = seconds(spec, 'keepaliveTime', notes);
  if (keep !== undefined && keep !== 0) {
    const h = (out.holdTime as number | undefined) ?? 9;
    if (keep > 21845 || (h !== 0 && keep >= h)) notes.lost('spec.keepaliveTime', `${keep} s must be less than the hold time (${h} s); left out (a third of the hold time is used)`);
    else out.keepalive = keep;
  }
  const connect = seconds(spec, 'connectTime', notes);
  if (connect !== undefined) out.connectRetry = Math.min(3600, Math.max(1, connect));

  const password = spec.str('password');
  const secret = spec.sub('passwordSecret');
  const secretName = secret.str('name');
  if (secretName) {
    out.passwordSecretRef = { name: k8sName(secretName), key: 'password' };
    const ns = secret.str('namespace') ?? o.namespace ?? 'metallb-system';
    notes.todo('spec.passwordSecret', `copy Secret ${ns}/${secretName} (key "password") into namespace ${EDGELB_NAMESPACE}${k8sName(secretName) !== secretName ? ` as ${k8sName(secretName)}` : ''}: edgelb reads BGP passwords only there`);
    if (password) notes.lost('spec.password', 'both password and passwordSecret are set (MetalLB refuses that); the Secret is used');
  } else if (password) {
    const sname = `${name}-bgp-password`.slice(0, 253);
    out.passwordSecretRef = { name: sname, key: 'password' };
    res.objects.push({
      obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: sname, namespace: EDGELB_NAMESPACE }, type: 'Opaque', stringData: { password } },
      from: [describe(o)],
      notes: [],
    });
    notes.info('spec.password', `the inline password is moved into Secret ${EDGELB_NAMESPACE}/${sname} (edgelb never takes passwords inline)`);
  }
  if (spec.bool('ebgpMultiHop') === true) out.ebgpMultihop = 255;
  const bfd = spec.str('bfdProfile');
  if (bfd) {
    const profile = bfdProfiles.get(bfd);
    if (profile) {
      out.bfd = bfdOf(profile, notes);
      notes.info('spec.bfdProfile', `BFDProfile "${bfd}" becomes spec.bfd (receiveInterval → minRx, transmitInterval → minTx, detectMultiplier → multiplier)`);
    } else notes.lost('spec.bfdProfile', `BFDProfile "${bfd}" is not in the input: no BFD for this peer (give the profile too, or set spec.bfd by hand)`);
  }
  const sel = mergeSelectors(spec.list('nodeSelectors'), notes, 'spec.nodeSelectors');
  if (sel) out.nodeSelector = sel;
  const src = spec.str('sourceAddress');
  if (src) {
    if (familyOf(src) && familyOf(src) === familyOf(address)) out.localAddress = canonicalIp(src);
    else notes.lost('spec.sourceAddress', `"${src}" is not an address of the peer's family; left out`);
  }
  if (spec.str('routerID')) notes.lost('spec.routerID', "edgelb has one router id per node (node.routerId in the ConfigMap, else the Node's InternalIP), not per peer");
  if (spec.has('localASN')) notes.lost('spec.localASN', 'edgelb has no local-as per peer; the node ASN (bgp.asn) is used');
  if (spec.bool('dualStackAddressFamily') === true) out.families = ['ipv4', 'ipv6'];
  if (spec.has('disableMP')) notes.info('spec.disableMP', 'edgelb negotiates each family on its own session already; nothing to set');
  const gr = spec.bool('enableGracefulRestart');
  if (gr !== undefined) out.gracefulRestart = { enabled: gr };
  else notes.info('spec.enableGracefulRestart', "not set: edgelb announces graceful restart by default (MetalLB does not); set gracefulRestart.enabled: false to match");

  res.name = name;
  res.objects.unshift({ obj: { apiVersion: GROUP, kind: 'BGPPeer', metadata: { name }, spec: out }, from: [describe(o)], notes: notes.list });
  return res;
}
