// The whole-file check: raw YAML data → DesiredState with every default filled, or a ConfigError
// listing EVERY problem with its path (schema and cross-field), plus warnings that do not reject.
import { ConfigError, type Issue } from '../lib/errors.js';
import { familyOf } from '../lib/addr.js';
import { validatePolicy } from '../model/policy-check.js';
import type {
  ApiSpec,
  BgpSpec,
  ClusterSpec,
  DataplaneSpec,
  DesiredState,
  L2Spec,
  NodeSpec,
  PeerSpec,
  PolicySpec,
} from '../model/desired-state.js';
import { Ctx, checkDuplicates, defaultInterfaceAddress, rawName, rawNames, type ValidateOptions } from './context.js';
import { canonicalIp } from '../lib/addr.js';
import { formatHostPort, parseHostPort } from './fields.js';
import { suggestKey } from './issues.js';
import {
  TOP_LEVEL_KEYS,
  apiSchema,
  bgpSchema,
  clusterSchema,
  dataplaneSchema,
  l2Schema,
  nodeSchema,
  peerSchema,
  policySchema,
} from './schema.js';
import { checkPoolsAndServices } from './validate-services.js';

export type { ValidateOptions };

export interface LoadedConfig {
  state: DesiredState;
  /** Problems that do not reject the file (e.g. a fullnat service in an ecmp pool). */
  warnings: Issue[];
  /** Where it came from (file path), for messages. */
  source: string;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validate parsed YAML data (any JS value) as a whole. Throws ConfigError with every issue when
 * anything is wrong; otherwise returns the DesiredState and the warnings.
 */
export function validateConfig(raw: unknown, opts: ValidateOptions = {}): LoadedConfig {
  const ctx = new Ctx(opts);
  const source = opts.source ?? 'config';
  const root: Record<string, unknown> = raw === undefined || raw === null ? {} : isMap(raw) ? raw : {};
  if (!(raw === undefined || raw === null || isMap(raw))) ctx.error([], `must be a map of sections (${TOP_LEVEL_KEYS.join(', ')})`);
  for (const k of Object.keys(root))
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(k)) {
      const s = suggestKey(k);
      ctx.error([k], s && (TOP_LEVEL_KEYS as readonly string[]).includes(s) ? `unknown key (did you mean ${s}?)` : 'unknown key');
    }

  const kube = opts.kubernetes === true;
  const node = checkNode(ctx, root.node, kube);
  const api = checkApi(ctx, root.api);
  const dataplane = ctx.parse(dataplaneSchema, root.dataplane ?? {}, ['dataplane']) as DataplaneSpec | undefined;
  if (dataplane) checkFlowHashKeyFile(ctx, dataplane);
  const l2raw = ctx.parse(l2Schema, root.l2 ?? {}, ['l2']);
  const l2: L2Spec | undefined = l2raw && {
    garpCount: l2raw.garpCount,
    garpIntervalMs: l2raw.garpInterval,
    refreshIntervalMs: l2raw.refreshInterval,
  };
  const cluster = root.cluster === undefined || root.cluster === null ? undefined : checkCluster(ctx, root.cluster, kube);
  // a cluster section that failed still tells how many shards were meant (or we skip shard checks)
  const shards: number | undefined =
    root.cluster === undefined || root.cluster === null
      ? 1
      : (cluster?.shards ??
        (isMap(root.cluster) && Number.isInteger(root.cluster.shards) ? (root.cluster.shards as number) : undefined));

  for (const k of ['pools', 'services', 'policies'] as const)
    if (kube && root[k] !== undefined) ctx.warn([k], 'ignored in Kubernetes mode (pools, services and policies come from the cluster)');

  const policies = kube ? [] : checkPolicies(ctx, root.policies);
  const policyNames = new Set([...policies.map((p) => p.name), ...rawNames(root.policies)]);
  const bgp =
    root.bgp === undefined || root.bgp === null ? undefined : checkBgp(ctx, root.bgp, node?.routerId, policyNames, kube);

  const { pools, services } = kube
    ? { pools: [], services: [] }
    : checkPoolsAndServices(ctx, root.pools, root.services, {
        hasBgp: root.bgp !== undefined && root.bgp !== null,
        bgpFailed: root.bgp !== undefined && root.bgp !== null && !bgp,
        shards,
        defaultLbMode: opts.defaultLbMode ?? 'onearm',
      });

  if (!kube && (root.cluster === undefined || root.cluster === null)) warnAlone(ctx, pools);

  if (ctx.errors.length > 0 || !node || !api || !dataplane || !l2) {
    if (ctx.errors.length === 0) ctx.error([], 'invalid (internal: a section failed without an error)');
    throw new ConfigError(ctx.errors, source);
  }
  const state: DesiredState = { node, api, pools, services, policies, dataplane, l2 };
  if (cluster) state.cluster = cluster;
  if (bgp) state.bgp = bgp;
  return { state, warnings: ctx.warnings, source };
}

/**
 * Without a cluster section a node knows of no other node, so it is master of every shard: it
 * answers ARP/NDP for every L2 address and announces activeBackup pools as the active node. Right
 * for one node alone; with several nodes on the same pools every node answers (clients flip
 * between MAC addresses) and activeBackup turns into ECMP. The file cannot tell how many nodes run
 * it, so this is a warning, in those words.
 */
function warnAlone(ctx: Ctx, pools: readonly { name: string; announce: string; bgpMode: string }[]): void {
  pools.forEach((p, i) => {
    if (p.announce !== 'bgp')
      ctx.warn(
        ['pools', i, 'announce'],
        `pool "${p.name}" is announced by L2 and there is no cluster section, so this node answers ARP/NDP for all of its addresses as if it were alone: right for a single node, but if other nodes run with this pool they all answer too and clients flip between them; list every node under cluster.members`,
      );
    if (p.announce !== 'l2' && p.bgpMode === 'activeBackup')
      ctx.warn(
        ['pools', i, 'bgpMode'],
        `pool "${p.name}" is activeBackup and there is no cluster section, so this node is the active node for every shard: right for a single node, but if other nodes run with this pool they all announce as active and the routers spread traffic over them (ECMP); list every node under cluster.members`,
      );
  });
}

function checkNode(ctx: Ctx, raw: unknown, kube: boolean): NodeSpec | undefined {
  if (raw === undefined || raw === null) raw = {};
  const n = ctx.parse(nodeSchema, raw, ['node']);
  if (!n) return undefined;
  const env = ctx.opts.env ?? process.env;
  let ok = true;
  let name = n.name;
  if (!name && kube && env.NODE_NAME) name = env.NODE_NAME;
  if (!name) {
    ctx.error(['node', 'name'], kube ? 'required (or set NODE_NAME)' : 'required');
    ok = false;
  }
  if (!n.interface) {
    ctx.error(['node', 'interface'], 'required');
    ok = false;
  }
  let routerId = n.routerId;
  if (!routerId && n.interface) routerId = (ctx.opts.interfaceAddress ?? defaultInterfaceAddress)(n.interface);
  if (!routerId && !kube) {
    ctx.error(['node', 'routerId'], n.interface ? `required (interface ${n.interface} has no IPv4 address to use)` : 'required');
    ok = false;
  }
  // Kubernetes mode: an empty routerId is filled by the Kubernetes source with the node's InternalIP
  return ok ? { name: name!, routerId: routerId ?? '', interface: n.interface! } : undefined;
}

function checkApi(ctx: Ctx, raw: unknown): ApiSpec | undefined {
  const a = ctx.parse(apiSchema, raw ?? {}, ['api']);
  if (!a) return undefined;
  const out: ApiSpec = { listen: a.listen };
  if (a.token !== undefined && a.tokenFile !== undefined) {
    ctx.error(['api', 'tokenFile'], 'give either token or tokenFile, not both');
    return undefined;
  }
  if (a.token !== undefined) out.token = a.token;
  if (a.tokenFile !== undefined) {
    const t = ctx.readSecret(['api', 'tokenFile'], a.tokenFile);
    if (t === undefined) return undefined;
    out.token = t;
  }
  if (a.metricsListen !== undefined) {
    const m = parseHostPort(a.metricsListen)!;
    const l = parseHostPort(a.listen)!;
    if (m.port !== 0 && m.port === l.port && (m.host === l.host || m.host === '0.0.0.0' || m.host === '::')) {
      ctx.error(['api', 'metricsListen'], `must not use the port of api.listen (${a.listen})`);
      return undefined;
    }
    out.metricsListen = a.metricsListen;
  }
  if (a.viewsListen !== undefined) {
    const v = parseHostPort(a.viewsListen)!;
    for (const [key, other] of [['listen', a.listen], ['metricsListen', a.metricsListen]] as const) {
      if (other === undefined) continue;
      const o = parseHostPort(other)!;
      const any = (h: string) => h === '0.0.0.0' || h === '::';
      if (v.port !== 0 && v.port === o.port && (v.host === o.host || any(v.host) || any(o.host))) {
        ctx.error(['api', 'viewsListen'], `must not use the port of api.${key} (${other})`);
        return undefined;
      }
    }
    out.viewsListen = a.viewsListen;
  }
  const host = parseHostPort(a.listen)!.host;
  const loopback = host.startsWith('127.') || host === '::1';
  if (!loopback && out.token === undefined) {
    ctx.error(['api', 'token'], `required when api.listen is not a loopback address (${a.listen}); or use tokenFile`);
    return undefined;
  }
  return out;
}

function checkCluster(ctx: Ctx, raw: unknown, kube: boolean): ClusterSpec | undefined {
  const c = ctx.parse(clusterSchema, raw, ['cluster']);
  if (!c) return undefined;
  let ok = true;
  const listen = parseHostPort(c.listen)!;
  const members: string[] = [];
  if (c.members === undefined && !kube) {
    ctx.error(['cluster', 'members'], 'required: every node of the cluster (this one included), as address or address:port');
    ok = false;
  }
  (c.members ?? []).forEach((m, i) => {
    const hp = parseHostPort(m) ?? (familyOf(m.trim()) ? { host: m.trim(), port: listen.port } : undefined);
    if (!hp) {
      ctx.error(['cluster', 'members', i], 'must be an address or address:port');
      ok = false;
      return;
    }
    const text = formatHostPort(parseHostPort(formatHostPort(hp))!);
    const dup = members.indexOf(text);
    if (dup >= 0) {
      ctx.error(['cluster', 'members', i], `duplicate of cluster.members[${dup}]`);
      ok = false;
    }
    members.push(text);
  });
  // 0.0.0.0 / :: listens everywhere: the member on that port that is a local address is this node
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  if (ok && members.length > 0 && !members.includes(formatHostPort(listen)) && !(wildcard && members.some((m) => parseHostPort(m)?.port === listen.port))) {
    ctx.error(['cluster', 'listen'], `must be this node's own address, one of cluster.members (${members.join(', ')}), or 0.0.0.0:PORT with a member on that port`);
    ok = false;
  }
  let keyFile: string | undefined;
  if (c.keyFile !== undefined) {
    keyFile = ctx.resolvePath(c.keyFile);
    try {
      const st = ctx.statFn(keyFile);
      if (st.size === 0) {
        ctx.error(['cluster', 'keyFile'], `${keyFile} is empty`);
        ok = false;
      } else if ((st.mode & 0o077) !== 0) {
        ctx.warn(['cluster', 'keyFile'], `${keyFile} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
      }
    } catch (e) {
      ctx.error(['cluster', 'keyFile'], `cannot read ${keyFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      ok = false;
    }
  } else if (new Set(members).size > 1) {
    ctx.error(['cluster', 'keyFile'], 'required when cluster.members has more than one node (heartbeats are authenticated)');
    ok = false;
  } else if (c.members === undefined && kube) {
    ctx.error(['cluster', 'keyFile'], "required: in Kubernetes mode the members are edgelb's pods, and heartbeats between them are authenticated");
    ok = false;
  }
  if (c.deadAfter < 2 * c.heartbeatInterval) {
    ctx.error(['cluster', 'deadAfter'], `must be at least twice cluster.heartbeatInterval (${c.heartbeatInterval}ms)`);
    ok = false;
  }
  if (!ok) return undefined;
  const out: ClusterSpec = {
    listen: c.listen,
    members,
    shards: c.shards,
    heartbeatIntervalMs: c.heartbeatInterval,
    deadAfterMs: c.deadAfter,
    holdDownMs: c.holdDown,
    realtimePriority: c.realtimePriority,
  };
  if (keyFile) out.keyFile = keyFile;
  if (c.sync) {
    const hbPort = Number(/:(\d+)$/.exec(c.listen)?.[1] ?? 0);
    const port = c.sync.port ?? hbPort + 1;
    if (port === hbPort || port > 65535) {
      ctx.error(['cluster', 'sync', 'port'], `must differ from the heartbeat port ${hbPort} (and be at most 65535)`);
      return undefined;
    }
    const seen = new Map<string, string>();
    for (const [name, addr] of Object.entries(c.sync.snatAddresses)) {
      if (seen.has(addr)) {
        ctx.error(['cluster', 'sync', 'snatAddresses', name], `${addr} is already ${seen.get(addr)}'s: every node needs its own`);
        return undefined;
      }
      seen.set(addr, name);
    }
    for (const [name, addr] of Object.entries(c.sync.snatAddresses6)) {
      if (seen.has(addr)) {
        ctx.error(['cluster', 'sync', 'snatAddresses6', name], `${addr} is already ${seen.get(addr)}'s: every node needs its own`);
        return undefined;
      }
      seen.set(addr, name);
    }
    out.sync = { port, snatAddresses: { ...c.sync.snatAddresses }, refreshMs: c.sync.refresh, queueLimit: c.sync.queueLimit };
    if (Object.keys(c.sync.snatAddresses6).length > 0) out.sync.snatAddresses6 = { ...c.sync.snatAddresses6 };
  }
  return out;
}

function checkBgp(ctx: Ctx, raw: unknown, nodeRouterId: string | undefined, policyNames: Set<string>, kube: boolean): BgpSpec | undefined {
  const b = ctx.parse(bgpSchema, raw, ['bgp']);
  const rawPeers = isMap(raw) ? raw.peers : undefined;
  if (kube && rawPeers !== undefined) ctx.warn(['bgp', 'peers'], 'ignored in Kubernetes mode (peers come from BGPPeer objects)');
  const parsed = kube ? [] : ctx.parseList(peerSchema, rawPeers, ['bgp', 'peers']);
  if (!b) return undefined;
  let ok = parsed.length === (Array.isArray(rawPeers) && !kube ? rawPeers.length : 0);
  const peers: PeerSpec[] = [];
  const peerKey = (item: Record<string, unknown>) =>
    typeof item.address === 'string' && familyOf(item.address.trim())
      ? `${canonicalIp(item.address.trim())}|${typeof item.port === 'number' ? item.port : 179}`
      : undefined;
  if (!kube && checkDuplicates(ctx, rawPeers, ['bgp', 'peers'], 'address', peerKey, (it) => String(it.address)).size > 0) ok = false;
  for (const [i, p] of parsed) {
    const at = (k: string) => ['bgp', 'peers', i, k];
    if (p.keepalive !== undefined && (p.holdTime === 0 ? p.keepalive !== 0 : p.keepalive >= p.holdTime)) {
      ctx.error(at('keepalive'), p.holdTime === 0 ? 'must be 0 when holdTime is 0' : `must be less than holdTime (${p.holdTime})`);
      ok = false;
    }
    if (p.passive && b.listenPort === 0) {
      ctx.error(at('passive'), 'a passive peer needs bgp.listenPort > 0 (it only accepts sessions)');
      ok = false;
    }
    if (p.localAddress && familyOf(p.localAddress) !== familyOf(p.address)) {
      ctx.error(at('localAddress'), `must be of the same family as address (${p.address})`);
      ok = false;
    }
    p.exportPolicies.forEach((name, j) => {
      if (!policyNames.has(name)) {
        ctx.error(['bgp', 'peers', i, 'exportPolicies', j], `unknown policy "${name}"`);
        ok = false;
      }
    });
    const fams = p.families ?? [familyOf(p.address) === 6 ? 'ipv6' : 'ipv4'];
    if (new Set(fams).size !== fams.length) {
      ctx.error(at('families'), 'must not repeat a family');
      ok = false;
    }
    const peer: PeerSpec = {
      address: p.address,
      asn: p.asn,
      port: p.port,
      holdTime: p.holdTime,
      passive: p.passive,
      connectRetry: p.connectRetry,
      idleHold: p.idleHold,
      gracefulRestart: p.gracefulRestart,
      restartTime: p.restartTime,
      families: fams,
      exportPolicies: p.exportPolicies,
      maxPrefixes: p.maxPrefixes,
    };
    if (p.maxPrefixesAction !== undefined) peer.maxPrefixesAction = p.maxPrefixesAction;
    if (p.keepReceived !== undefined) peer.keepReceived = p.keepReceived;
    if (p.keepReceivedBytes !== undefined) peer.keepReceivedBytes = p.keepReceivedBytes;
    if (p.keepalive !== undefined) peer.keepalive = p.keepalive;
    if (p.ebgpMultihop !== undefined) peer.ebgpMultihop = p.ebgpMultihop;
    if (p.gtsm !== undefined) peer.gtsm = p.gtsm;
    if (p.localAddress !== undefined) peer.localAddress = p.localAddress;
    if (p.passwordFile !== undefined) {
      peer.passwordFile = ctx.resolvePath(p.passwordFile);
      const pw = ctx.readSecret(at('passwordFile'), p.passwordFile);
      if (pw === undefined) ok = false;
      else if (Buffer.byteLength(pw) > 80) {
        ctx.error(at('passwordFile'), 'the password must be at most 80 bytes (TCP MD5 key limit)');
        ok = false;
      } else peer.password = pw;
    }
    if (p.bfd !== undefined) {
      const { minRx, minTx, multiplier, auth } = p.bfd;
      peer.bfd = { minRxMs: minRx, minTxMs: minTx, multiplier };
      if (auth) {
        const keyFile = ctx.resolvePath(auth.keyFile);
        const key = ctx.readSecret([...at('bfd'), 'auth', 'keyFile'], auth.keyFile);
        const max = auth.type.includes('sha1') ? 20 : 16;
        if (key === undefined) ok = false;
        else if (Buffer.byteLength(key) < 1 || Buffer.byteLength(key) > max) {
          ctx.error([...at('bfd'), 'auth', 'keyFile'], `the ${auth.type} key must be 1..${max} bytes (RFC 5880 section 4)`);
          ok = false;
        } else peer.bfd.auth = { type: auth.type, keyId: auth.keyId, keyFile, key };
      }
    }
    peers.push(peer);
  }
  const routerId = b.routerId ?? nodeRouterId;
  if (routerId === undefined) return undefined; // node.routerId already reported
  if (!kube && peers.length === 0 && ok && !Array.isArray(rawPeers))
    ctx.warn(['bgp', 'peers'], 'no peer: VIPs announced by BGP reach no router');
  if (!ok) return undefined;
  return {
    asn: b.asn,
    routerId,
    listenPort: b.listenPort,
    peers,
    communities: b.communities,
    largeCommunities: b.largeCommunities,
  };
}

function checkPolicies(ctx: Ctx, raw: unknown): PolicySpec[] {
  const parsed = ctx.parseList(policySchema, raw, ['policies']);
  const out: PolicySpec[] = [];
  const dups = checkDuplicates(ctx, raw, ['policies'], 'name', rawName, (it) => `"${String(it.name)}"`);
  for (const [i, p] of parsed) {
    let ok = !dups.has(i);
    for (const [setName, entries] of Object.entries(p.prefixSets)) {
      entries.forEach((e, j) => {
        const plen = Number(e.prefix.split('/')[1]);
        const max = familyOf(e.prefix.split('/')[0]!) === 4 ? 32 : 128;
        const at = ['policies', i, 'prefixSets', setName, j];
        if (e.minLen !== undefined && (e.minLen < plen || e.minLen > max)) {
          ctx.error([...at, 'minLen'], `must be ${plen}..${max} (the prefix length up to the host length)`);
          ok = false;
        }
        if (e.maxLen !== undefined && (e.maxLen < (e.minLen ?? plen) || e.maxLen > max)) {
          ctx.error([...at, 'maxLen'], `must be ${e.minLen ?? plen}..${max} (from minLen up to the host length)`);
          ok = false;
        }
      });
    }
    const stmtSeen = new Map<string, number>();
    p.statements.forEach((s, j) => {
      const at = ['policies', i, 'statements', j];
      if (stmtSeen.has(s.name)) {
        ctx.error([...at, 'name'], `duplicate of statements[${stmtSeen.get(s.name)}] ("${s.name}")`);
        ok = false;
      } else stmtSeen.set(s.name, j);
      if (s.match.prefixSet !== undefined && !(s.match.prefixSet in p.prefixSets)) {
        ctx.error([...at, 'match', 'prefixSet'], `unknown prefix set "${s.match.prefixSet}" (not in this policy's prefixSets)`);
        ok = false;
      }
      if (s.match.communitySet !== undefined && !(s.match.communitySet in p.communitySets)) {
        ctx.error([...at, 'match', 'communitySet'], `unknown community set "${s.match.communitySet}" (not in this policy's communitySets)`);
        ok = false;
      }
      if (s.actions.setCommunities && (s.actions.addCommunities || s.actions.removeCommunities)) {
        ctx.error([...at, 'actions', 'setCommunities'], 'cannot be combined with addCommunities or removeCommunities');
        ok = false;
      }
    });
    // the one policy check the speaker and the BGPPolicy path apply too: nothing it refuses passes
    if (ok)
      for (const issue of validatePolicy(p as PolicySpec)) {
        const sep = issue.indexOf(': ');
        const rel = issue.slice(0, sep).split(/[.[\]]+/).filter(Boolean).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
        ctx.error(['policies', i, ...rel], issue.slice(sep + 2));
        ok = false;
      }
    if (ok) out.push(p as PolicySpec);
  }
  return out;
}

/** dataplane.flowHashKeyFile: resolved, readable, not empty, and not with flowHashKey. */
function checkFlowHashKeyFile(ctx: Ctx, d: DataplaneSpec): void {
  if (d.flowHashKeyFile === undefined) return;
  const at = ['dataplane', 'flowHashKeyFile'];
  if (d.flowHashKey !== undefined) ctx.error(at, 'give dataplane.flowHashKey or dataplane.flowHashKeyFile, not both');
  const file = ctx.resolvePath(d.flowHashKeyFile);
  d.flowHashKeyFile = file;
  try {
    if (ctx.statFn(file).size === 0) ctx.error(at, `${file} is empty`);
  } catch (e) {
    ctx.error(at, `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
