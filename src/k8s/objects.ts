// Cluster objects → validated specs, as small pure functions: IPPools (field and overlap rules),
// BGPPolicies (the one policy check, model/policy-check.ts), BGPPeers (Secret password, policy
// references) and kube-loxilb BGPPeerServices. An object that passes the CRD schema but cannot be
// used becomes a Problem naming the field, and is left out; everything else goes on. The leader
// turns the problems into a condition and an Event on the object (plan.ts).
import { canonicalIp, familyOf } from '../lib/addr.js';
import { blocksOverlap, parseBlocks, type Block } from '../config/allocate.js';
import { validatePolicy } from '../model/policy-check.js';
import type { BfdPeerSpec, PeerSpec, PolicySpec, PoolSpec } from '../model/desired-state.js';
import { poolFromObj, type IpamPool } from './ipam.js';
import type { BGPPeerObj, BGPPolicyObj, IPPoolObj, LoxiBGPPeerServiceObj, SecretObj } from './types.js';

/** Something in the cluster edgelb cannot use as given; it is skipped, the rest goes on. */
export interface Problem {
  object: string; // "Service default/web", "BGPPeer tor-a"
  reason: string;
  message: string; // names the field: "spec.passwordSecretRef: ..."
}

/** TCP MD5 signature keys are at most 80 bytes (TCP_MD5SIG_MAXKEYLEN). */
export const MAX_PASSWORD_BYTES = 80;

const byName = <T extends { metadata: { name: string } }>(a: T, b: T) => a.metadata.name.localeCompare(b.metadata.name);
const created = (o: { metadata: { creationTimestamp?: string | Date } }) => new Date(o.metadata.creationTimestamp ?? 0).getTime();

export function poolSpecOf(p: IPPoolObj): PoolSpec {
  return {
    name: p.metadata.name,
    cidrs: p.spec.cidrs ?? [],
    ranges: p.spec.ranges ?? [],
    announce: p.spec.announce ?? 'bgp',
    bgpMode: p.spec.bgpMode ?? 'ecmp',
    avoidBuggyIPs: p.spec.avoidBuggyIPs ?? true,
    autoAssign: p.spec.autoAssign ?? true,
  };
}

/**
 * The usable IPPools. A pool with a bad entry is refused; of two pools that overlap, the older
 * (then the first by name) keeps the addresses and the other is refused, so every node and the
 * leader agree which pool an address belongs to.
 */
export function validPools(objs: IPPoolObj[]): { pools: PoolSpec[]; ipamPools: IpamPool[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const kept: Array<{ obj: IPPoolObj; ipam: IpamPool; blocks: Block[] }> = [];
  for (const p of [...objs].sort((a, b) => created(a) - created(b) || byName(a, b))) {
    const obj = `IPPool ${p.metadata.name}`;
    const r = poolFromObj(p);
    if (!r.pool) {
      problems.push({ object: obj, reason: 'InvalidPool', message: r.errors.join('; ') });
      continue;
    }
    const blocks = parseBlocks(r.pool).blocks;
    const clash = overlapWith(blocks, kept);
    if (clash) {
      problems.push({ object: obj, reason: 'PoolOverlap', message: `spec.${clash.mine.field} (${clash.mine.text}) overlaps spec.${clash.theirs.field} (${clash.theirs.text}) of older IPPool ${clash.pool}; this pool is not used` });
      continue;
    }
    kept.push({ obj: p, ipam: r.pool, blocks });
  }
  kept.sort((a, b) => byName(a.obj, b.obj));
  return { pools: kept.map((k) => poolSpecOf(k.obj)), ipamPools: kept.map((k) => k.ipam), problems };
}

function overlapWith(blocks: Block[], kept: Array<{ obj: IPPoolObj; blocks: Block[] }>): { mine: Block; theirs: Block; pool: string } | undefined {
  for (const k of kept) for (const mine of blocks) for (const theirs of k.blocks) if (blocksOverlap(mine, theirs)) return { mine, theirs, pool: k.obj.metadata.name };
  return undefined;
}

export function policySpecOf(p: BGPPolicyObj): PolicySpec {
  const s = p.spec ?? {};
  const prefixSets: PolicySpec['prefixSets'] = {};
  for (const ps of s.prefixSets ?? []) prefixSets[ps.name] = (ps.prefixes ?? []).map((e) => ({ ...e }));
  const communitySets: PolicySpec['communitySets'] = {};
  for (const cs of s.communitySets ?? []) communitySets[cs.name] = [...(cs.communities ?? [])];
  return {
    name: p.metadata.name,
    prefixSets,
    communitySets,
    statements: (s.statements ?? []).map((st) => ({ name: st.name, match: { ...(st.match ?? {}) }, actions: { ...(st.actions ?? {}) } })),
    defaultResult: s.defaultResult ?? 'accept',
  };
}

/** The usable BGPPolicies (checked by model/policy-check.ts, as the speaker checks them) and the names of the refused ones. */
export function validPolicies(objs: BGPPolicyObj[]): { policies: PolicySpec[]; invalid: Set<string>; problems: Problem[] } {
  const policies: PolicySpec[] = [];
  const invalid = new Set<string>();
  const problems: Problem[] = [];
  for (const p of [...objs].sort(byName)) {
    const spec = policySpecOf(p);
    const issues = validatePolicy(spec);
    if (issues.length > 0) {
      invalid.add(p.metadata.name);
      problems.push({ object: `BGPPolicy ${p.metadata.name}`, reason: 'InvalidPolicy', message: `${issues.map((i) => `spec.${i}`).join('; ')}; the policy is not used` });
      continue;
    }
    policies.push(spec);
  }
  return { policies, invalid, problems };
}

/** A BGPPeer's password from its Secret, or the problem with it. */
export function peerPassword(p: BGPPeerObj, secrets: SecretObj[]): { password?: string; problem?: Problem } {
  const ref = p.spec.passwordSecretRef;
  if (!ref) return {};
  const obj = `BGPPeer ${p.metadata.name}`;
  const key = ref.key ?? 'password';
  const sec = secrets.find((s) => s.metadata.name === ref.name);
  if (!sec) return { problem: { object: obj, reason: 'SecretNotFound', message: `spec.passwordSecretRef.name: Secret ${ref.name} is not in edgelb's namespace; the peer is skipped` } };
  let password: string | undefined = sec.stringData?.[key];
  if (password === undefined && sec.data?.[key] !== undefined) password = Buffer.from(sec.data[key]!, 'base64').toString('utf8');
  if (password === undefined) return { problem: { object: obj, reason: 'SecretKeyNotFound', message: `spec.passwordSecretRef.key: Secret ${ref.name} has no key "${key}"; the peer is skipped` } };
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes === 0 || bytes > MAX_PASSWORD_BYTES) {
    return {
      problem: {
        object: obj,
        reason: 'InvalidPassword',
        message: `spec.passwordSecretRef: the password in Secret ${ref.name} key "${key}" is ${bytes} bytes; TCP MD5 needs 1 to ${MAX_PASSWORD_BYTES}; the peer is skipped`,
      },
    };
  }
  return { password };
}

/** A BGPPeer's BFD settings (RFC 5880), the key read from its Secret, or the problem with them. */
export function peerBfd(p: BGPPeerObj, secrets: SecretObj[]): { bfd?: BfdPeerSpec; problem?: Problem } {
  const b = p.spec.bfd;
  if (!b) return {};
  const bfd: BfdPeerSpec = { minRxMs: b.minRx ?? 300, minTxMs: b.minTx ?? 300, multiplier: b.multiplier ?? 3 };
  if (!b.auth) return { bfd };
  const obj = `BGPPeer ${p.metadata.name}`;
  const ref = b.auth.secretRef;
  const key = ref.key ?? 'key';
  const sec = secrets.find((s) => s.metadata.name === ref.name);
  if (!sec) return { problem: { object: obj, reason: 'SecretNotFound', message: `spec.bfd.auth.secretRef.name: Secret ${ref.name} is not in edgelb's namespace; the peer is skipped` } };
  let value: string | undefined = sec.stringData?.[key];
  if (value === undefined && sec.data?.[key] !== undefined) value = Buffer.from(sec.data[key]!, 'base64').toString('utf8');
  if (value === undefined) return { problem: { object: obj, reason: 'SecretKeyNotFound', message: `spec.bfd.auth.secretRef.key: Secret ${ref.name} has no key "${key}"; the peer is skipped` } };
  const max = b.auth.type.includes('sha1') ? 20 : 16;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes === 0 || bytes > max)
    return { problem: { object: obj, reason: 'InvalidPassword', message: `spec.bfd.auth.secretRef: the ${b.auth.type} key in Secret ${ref.name} key "${key}" is ${bytes} bytes; it needs 1 to ${max}; the peer is skipped` } };
  bfd.auth = { type: b.auth.type, keyId: b.auth.keyId, key: value };
  return { bfd };
}

/** The export policies of a peer, in order: its own list, then policies naming it in spec.peers. */
export function peerExportPolicies(p: BGPPeerObj, policies: BGPPolicyObj[], invalid: ReadonlySet<string>): { names: string[]; problems: Problem[] } {
  const obj = `BGPPeer ${p.metadata.name}`;
  const known = new Set(policies.map((x) => x.metadata.name));
  const names: string[] = [];
  const problems: Problem[] = [];
  const fromPolicies = [...policies].sort(byName).filter((x) => x.spec.peers?.includes(p.metadata.name)).map((x) => x.metadata.name);
  for (const n of [...(p.spec.exportPolicies ?? []), ...fromPolicies]) {
    if (names.includes(n)) continue;
    if (!known.has(n)) problems.push({ object: obj, reason: 'PolicyNotFound', message: `spec.exportPolicies: BGPPolicy "${n}" does not exist; skipped` });
    else if (invalid.has(n)) problems.push({ object: obj, reason: 'PolicyInvalid', message: `spec.exportPolicies: BGPPolicy "${n}" is invalid (see its condition); skipped` });
    else names.push(n);
  }
  return { names, problems };
}

/** A BGPPeer → PeerSpec, or the problems that keep it out (the peer's policy problems do not). */
export function peerSpecOf(p: BGPPeerObj, secrets: SecretObj[], policies: BGPPolicyObj[], invalid: ReadonlySet<string>): { peer?: PeerSpec; problems: Problem[] } {
  const s = p.spec;
  const obj = `BGPPeer ${p.metadata.name}`;
  if (!familyOf(s.address)) return { problems: [{ object: obj, reason: 'InvalidPeer', message: `spec.address: "${s.address}" is not an IP` }] };
  const pw = peerPassword(p, secrets);
  if (pw.problem) return { problems: [pw.problem] };
  const bfd = peerBfd(p, secrets);
  if (bfd.problem) return { problems: [bfd.problem] };
  const ex = peerExportPolicies(p, policies, invalid);
  const peer: PeerSpec = {
    address: canonicalIp(s.address),
    asn: s.asn,
    port: s.port ?? 179,
    holdTime: s.holdTime ?? 9,
    ...(s.keepalive !== undefined ? { keepalive: s.keepalive } : {}),
    ...(pw.password !== undefined ? { password: pw.password } : {}),
    passive: s.passive ?? false,
    connectRetry: s.connectRetry ?? 5,
    idleHold: 1,
    gracefulRestart: s.gracefulRestart?.enabled ?? true,
    restartTime: s.gracefulRestart?.restartTime ?? 30,
    ...(s.ebgpMultihop !== undefined ? { ebgpMultihop: s.ebgpMultihop } : {}),
    ...(s.gtsm !== undefined ? { gtsm: s.gtsm } : {}),
    ...(s.localAddress ? { localAddress: s.localAddress } : {}),
    families: s.families ?? [familyOf(s.address) === 6 ? 'ipv6' : 'ipv4'],
    exportPolicies: ex.names,
    maxPrefixes: s.maxPrefixes ?? 10_000,
    ...(bfd.bfd ? { bfd: bfd.bfd } : {}),
  };
  return { peer, problems: ex.problems };
}

/** kube-loxilb's BGPPeerService → PeerSpec (defaults as kube-loxilb's), or the problem. */
export function loxiPeerSpecOf(lp: LoxiBGPPeerServiceObj): { peer?: PeerSpec; problem?: Problem } {
  const addr = lp.spec?.ipAddress;
  if (!addr || !familyOf(addr)) return { problem: { object: `BGPPeerService ${lp.metadata.name}`, reason: 'InvalidPeer', message: `spec.ipAddress: "${addr}" is not an IP` } };
  return {
    peer: {
      address: canonicalIp(addr),
      asn: lp.spec.remoteAs,
      port: lp.spec.remotePort ?? 179,
      holdTime: 9,
      passive: false,
      connectRetry: 5,
      idleHold: 1,
      gracefulRestart: true,
      restartTime: 30,
      families: [familyOf(addr) === 6 ? 'ipv6' : 'ipv4'],
      exportPolicies: [],
      maxPrefixes: 10_000,
    },
  };
}

/**
 * Every problem of the cluster-wide objects (IPPools, BGPPolicies, every BGPPeer whatever node it
 * selects), for the leader's conditions and Events. Same rules as the per-node translation.
 */
export function objectProblems(v: { pools: IPPoolObj[]; policies: BGPPolicyObj[]; peers: BGPPeerObj[]; secrets: SecretObj[] }): Problem[] {
  const pol = validPolicies(v.policies);
  const out = [...validPools(v.pools).problems, ...pol.problems];
  for (const p of [...v.peers].sort(byName)) out.push(...peerSpecOf(p, v.secrets, v.policies, pol.invalid).problems);
  return out;
}
