// The YAML config schema, one zod schema per section or list item. Field rules live here; rules
// between fields and sections (pools, shards, duplicates, secrets) live in validate.ts.
import { z } from 'zod';
import {
  bool,
  cidr,
  community,
  duration,
  hostPort,
  intRange,
  ip,
  ipRange,
  ipv4,
  ipv6,
  isPrime,
  largeCommunity,
  list,
  name,
  str,
} from './fields.js';

const U32 = 4294967295;
const enumOf = <const T extends [string, ...string[]]>(values: T) =>
  z.enum(values, { errorMap: () => ({ message: `must be one of ${values.join(', ')}` }) });

export const nodeSchema = z
  .object({
    name: name('node').optional(),
    routerId: ipv4.optional(),
    interface: z
      .string({ invalid_type_error: 'must be an interface name' })
      .regex(/^[^\s/:]{1,15}$/, 'must be an interface name (1..15 characters, no "/", ":" or spaces)')
      // "." and ".." would make /proc/sys/net/ipv4/conf/../forwarding the host-wide switch
      .refine((v) => v !== '.' && v !== '..', 'must be an interface name, not "." or ".."')
      .optional(),
  })
  .strict();

export const apiSchema = z
  .object({
    listen: hostPort.default('127.0.0.1:11111'),
    token: str().optional(),
    /** A file holding the bearer token (read at load; trailing newline dropped). */
    tokenFile: str('a file path').optional(),
    /** A second listener serving only /metrics and /healthz (no token: for Prometheus on the node's address). */
    metricsListen: hostPort.optional(),
    /** A listener serving only the read-only GET /v1 views and /healthz (no token: for `edgelb get
     *  --all-nodes` through the Kubernetes API server's pods/proxy). */
    viewsListen: hostPort.optional(),
  })
  .strict();

export const clusterSchema = z
  .object({
    listen: hostPort,
    /** Required standalone; in Kubernetes mode the members are edgelb's pods (validate.ts). */
    members: list(z.string({ invalid_type_error: 'must be an address or address:port' })).min(1, 'must list at least this node').optional(),
    keyFile: str('a file path').optional(),
    shards: intRange(1, 4096).default(1),
    heartbeatInterval: duration(10, 10_000).default('30ms'),
    deadAfter: duration(20, 60_000).default('150ms'),
    holdDown: duration(0, 3_600_000).default('5s'),
    /** SCHED_FIFO priority of the heartbeat thread (as keepalived's vrrp_rt_priority); 0 = none (nice -10). */
    realtimePriority: intRange(0, 99).default(10),
    /** Connection-state sync between members (docs/sync.md); off when absent. */
    sync: z
      .object({
        /** UDP port of the sync socket, on cluster.listen's address (default: the heartbeat port + 1). */
        port: intRange(1, 65535).optional(),
        /** Each node's onearm source address (IPv4): a survivor adopts a dead node's (ARP). */
        snatAddresses: z.record(ipv4, { invalid_type_error: 'must be a map of node name to IPv4 address' }).default({}),
        /** The same for IPv6 onearm flows (a survivor adopts a dead node's by unsolicited NA). */
        snatAddresses6: z.record(ipv6, { invalid_type_error: 'must be a map of node name to IPv6 address' }).default({}),
        /** Flows re-sent when they saw packets, at most this often (their copies age like the original). */
        refresh: duration(100, 600_000).default('2s'),
        /** Flows waiting to be sent, at most; the rest are dropped and counted. */
        queueLimit: intRange(100, 10_000_000).default(65536),
      })
      .strict()
      .optional(),
  })
  .strict();

/** BFD for one BGP peer (RFC 5880): intervals we ask for, Detect Mult, optional authentication. */
export const bfdSchema = z
  .object({
    minRx: duration(10, 60_000).default('300ms'),
    minTx: duration(10, 60_000).default('300ms'),
    multiplier: intRange(1, 255).default(3),
    auth: z
      .object({
        type: enumOf(['simple', 'keyed-md5', 'meticulous-keyed-md5', 'keyed-sha1', 'meticulous-keyed-sha1']),
        keyId: intRange(0, 255),
        keyFile: str('a file path'),
      })
      .strict()
      .optional(),
  })
  .strict();

export const peerSchema = z
  .object({
    address: ip,
    asn: intRange(1, U32),
    port: intRange(1, 65535).default(179),
    holdTime: z
      .number({ invalid_type_error: 'must be 0 or 3..65535' })
      .int('must be 0 or 3..65535')
      .refine((v) => v === 0 || (v >= 3 && v <= 65535), 'must be 0 or 3..65535')
      .default(9),
    keepalive: intRange(0, 21845).optional(),
    passwordFile: str('a file path').optional(),
    passive: bool.default(false),
    connectRetry: intRange(1, 3600).default(5),
    idleHold: intRange(0, 60).default(1),
    gracefulRestart: bool.default(true),
    restartTime: intRange(1, 4095).default(30),
    ebgpMultihop: intRange(1, 255).optional(),
    gtsm: bool.optional(),
    localAddress: ip.optional(),
    families: list(enumOf(['ipv4', 'ipv6'])).min(1, 'must list at least one family').optional(),
    exportPolicies: list(name('policy')).default([]),
    maxPrefixes: intRange(0, 10_000_000).default(10_000),
    maxPrefixesAction: enumOf(['warn', 'teardown']).optional(), // default warn (bgp/session.ts)
    keepReceived: bool.optional(), // default false
    keepReceivedBytes: intRange(0, 1 << 30).optional(), // default 1 MiB
    bfd: bfdSchema.optional(),
  })
  .strict();

export const bgpSchema = z
  .object({
    asn: intRange(1, U32),
    routerId: ipv4.optional(),
    listenPort: intRange(0, 65535).default(179),
    peers: z.any().optional(), // each peer is parsed on its own (peerSchema) so all errors show
    communities: list(community).default([]),
    largeCommunities: list(largeCommunity).default([]),
  })
  .strict();

export const poolSchema = z
  .object({
    name: name('pool'),
    cidrs: list(cidr).default([]),
    ranges: list(ipRange).default([]),
    announce: enumOf(['bgp', 'l2', 'both']).optional(),
    bgpMode: enumOf(['ecmp', 'activeBackup']).default('ecmp'),
    avoidBuggyIPs: bool.default(false),
    autoAssign: bool.default(true),
  })
  .strict(); // "at least one CIDR or range" is checked in validate-services.ts, also when other fields fail

const portSchema = z.preprocess(
  (v) => (typeof v === 'number' ? { port: v } : v),
  z
    .object(
      {
        port: intRange(1, 65535),
        protocol: enumOf(['tcp', 'udp']).default('tcp'),
        targetPort: intRange(1, 65535).optional(),
      },
      { invalid_type_error: 'must be a port number or { port, protocol, targetPort }' },
    )
    .strict()
    .transform((p) => ({ port: p.port, protocol: p.protocol, targetPort: p.targetPort ?? p.port })),
);

const endpointSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { address: v } : v),
  z
    .object(
      {
        address: ip,
        nodeName: name('node').optional(),
        ready: bool.default(true),
      },
      { invalid_type_error: 'must be an address or { address, nodeName, ready }' },
    )
    .strict(),
);

export const probeSchema = z
  .object({
    type: enumOf(['none', 'tcp', 'udp', 'http', 'https', 'ping']).default('none'),
    port: intRange(1, 65535).optional(),
    path: z.string({ invalid_type_error: 'must be a path' }).startsWith('/', 'must start with "/"').optional(),
    request: z.string({ invalid_type_error: 'must be a string' }).optional(),
    response: z.string({ invalid_type_error: 'must be a string' }).optional(),
    interval: duration(100, 3_600_000).default('1s'),
    timeout: duration(10, 60_000).default('1s'),
    retries: intRange(1, 100).default(2),
  })
  .strict();

export const serviceSchema = z
  .object({
    name: name('service'),
    vip: ip.optional(),
    vips: list(ip).min(1, 'must list at least one address').optional(),
    pool: name('pool').optional(),
    shard: intRange(0, 4095).optional(),
    mode: enumOf(['dnat', 'onearm', 'fullnat', 'dsr']).optional(),
    ports: list(portSchema).min(1, 'must list at least one port'),
    endpoints: list(endpointSchema).default([]),
    probe: probeSchema.default({}),
    epSelect: enumOf(['maglev', 'rr', 'hash', 'persist', 'lc']).default('maglev'),
    timeout: duration(1000, 86_400_000).default('300s'),
    withdrawWhenUnhealthy: bool.default(true),
    localOnly: bool.default(false),
  })
  .strict();

const prefixSetEntrySchema = z.preprocess(
  (v) => (typeof v === 'string' ? { prefix: v } : v),
  z
    .object(
      { prefix: cidr, minLen: intRange(0, 128).optional(), maxLen: intRange(0, 128).optional() },
      { invalid_type_error: 'must be a prefix or { prefix, minLen, maxLen }' },
    )
    .strict(),
);

const statementSchema = z
  .object({
    name: name('statement'),
    match: z
      .object({
        prefixSet: str().optional(),
        peers: list(ip).optional(),
        communitySet: str().optional(),
      })
      .strict()
      .default({}),
    actions: z
      .object({
        med: intRange(0, U32).optional(),
        localPref: intRange(0, U32).optional(),
        addCommunities: list(community).optional(),
        setCommunities: list(community).optional(),
        removeCommunities: list(community).optional(),
        addLargeCommunities: list(largeCommunity).optional(),
        removeLargeCommunities: list(largeCommunity).optional(),
        prepend: z.object({ asn: intRange(1, U32).optional(), count: intRange(1, 16) }).strict().optional(),
        nextHop: z
          .string({ invalid_type_error: 'must be an IP address or "self"' })
          .refine((s) => s === 'self' || ip.safeParse(s).success, 'must be an IP address or "self"')
          .optional(),
        result: enumOf(['accept', 'reject']).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export const policySchema = z
  .object({
    name: name('policy'),
    prefixSets: z.record(list(prefixSetEntrySchema), { invalid_type_error: 'must be a map of name to prefixes' }).default({}),
    communitySets: z.record(list(community), { invalid_type_error: 'must be a map of name to communities' }).default({}),
    statements: list(statementSchema).default([]),
    defaultResult: enumOf(['accept', 'reject']).default('accept'),
  })
  .strict();

export const dataplaneSchema = z
  .object({
    attachMode: enumOf(['auto', 'native', 'generic']).default('auto'),
    maglevSize: z
      .number({ invalid_type_error: 'must be a prime 7..16777213' })
      .refine((n) => n >= 7 && n <= 16777213 && isPrime(n), 'must be a prime 7..16777213 (e.g. 65537)')
      .default(65537),
    conntrackSize: intRange(1024, 134_217_728).default(65536),
    pinRoot: z.string({ invalid_type_error: 'must be an absolute path' }).startsWith('/', 'must be an absolute path').optional(),
    enabled: bool.default(true),
    // TCP-aware conntrack and SNAT (docs/dataplane.md, "Conntrack"), seconds
    tcpSynTimeout: intRange(1, 300).default(5),
    tcpFinTimeout: intRange(1, 3600).default(10),
    tcpRstTimeout: intRange(1, 300).default(2),
    snatClientShare: intRange(1, 100).default(10),
    icmpEchoRate: intRange(0, 1_000_000).default(1000),
    rstUnserved: bool.default(false),
    flowHashKey: z.string({ invalid_type_error: 'must be a string of at least 16 characters' }).min(16, 'must be at least 16 characters').optional(),
    /** A file whose bytes key the flow hash (a copy of a one-key cluster key file keeps the hash it gave). */
    flowHashKeyFile: str('a file path').optional(),
  })
  .strict();

export const l2Schema = z
  .object({
    garpCount: intRange(0, 100).default(3),
    garpInterval: duration(10, 60_000).default('200ms'),
    refreshInterval: z
      .any()
      .transform((v, ctx) => {
        if (v === 0 || v === '0') return 0; // 0 = no periodic refresh
        const r = duration(1000, 86_400_000).safeParse(v);
        if (!r.success) {
          ctx.addIssue({ code: 'custom', message: 'must be 0 (off) or a duration from 1s to 86400s (like 10s)' });
          return z.NEVER;
        }
        return r.data;
      })
      .default('10s'),
  })
  .strict();

/** Top-level keys: each section is parsed on its own (validate.ts) so one bad section hides nothing. */
export const TOP_LEVEL_KEYS = ['node', 'api', 'cluster', 'bgp', 'pools', 'services', 'policies', 'dataplane', 'l2'] as const;

export type NodeRaw = z.infer<typeof nodeSchema>;
export type ApiRaw = z.infer<typeof apiSchema>;
export type ClusterRaw = z.infer<typeof clusterSchema>;
export type PeerRaw = z.infer<typeof peerSchema>;
export type BgpRaw = z.infer<typeof bgpSchema>;
export type PoolRaw = z.infer<typeof poolSchema>;
export type ServiceRaw = z.infer<typeof serviceSchema>;
export type PolicyRaw = z.infer<typeof policySchema>;
export type DataplaneRaw = z.infer<typeof dataplaneSchema>;
export type L2Raw = z.infer<typeof l2Schema>;

/** Every key any section knows, for "did you mean" hints on unknown keys. */
export const KNOWN_KEYS: readonly string[] = (() => {
  const out = new Set<string>(TOP_LEVEL_KEYS);
  const walk = (s: z.ZodTypeAny, depth: number): void => {
    if (depth > 8 || !s) return;
    const def = s._def as { typeName?: string; innerType?: z.ZodTypeAny; schema?: z.ZodTypeAny; type?: z.ZodTypeAny; valueType?: z.ZodTypeAny };
    if (s instanceof z.ZodObject) {
      for (const [k, v] of Object.entries(s.shape as Record<string, z.ZodTypeAny>)) {
        out.add(k);
        walk(v, depth + 1);
      }
      return;
    }
    const inner = def.innerType ?? def.schema ?? def.type ?? def.valueType;
    if (inner) walk(inner, depth + 1);
  };
  for (const s of [nodeSchema, apiSchema, clusterSchema, peerSchema, bgpSchema, poolSchema, serviceSchema, policySchema, dataplaneSchema, l2Schema])
    walk(s as z.ZodTypeAny, 0);
  out.add('port').add('protocol').add('targetPort').add('address').add('nodeName').add('ready').add('prefix').add('minLen').add('maxLen');
  return [...out];
})();
