// Plain shapes of the Kubernetes objects edgelb reads (only the fields it uses), so the pure logic
// (IPAM, translation) never imports @kubernetes/client-node. JSON as the API server sends it.
import type { PolicyStatement } from '../model/desired-state.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface K8sCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string | Date;
  observedGeneration?: number;
}

export interface ServicePortObj {
  name?: string;
  port: number;
  protocol?: string; // TCP (default) | UDP | SCTP
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceObj {
  metadata: ObjectMeta;
  spec: {
    type?: string;
    loadBalancerClass?: string;
    loadBalancerIP?: string;
    ports?: ServicePortObj[];
    ipFamilies?: Array<'IPv4' | 'IPv6'>;
    ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
    externalTrafficPolicy?: 'Cluster' | 'Local';
    clusterIP?: string;
  };
  status?: {
    loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string; ipMode?: string }> };
    conditions?: K8sCondition[];
  };
}

export interface EndpointSliceObj {
  metadata: ObjectMeta;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: Array<{
    addresses: string[];
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
    nodeName?: string;
  }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
}

export interface NodeObj {
  metadata: ObjectMeta;
  spec?: { unschedulable?: boolean };
  status?: {
    addresses?: Array<{ type: string; address: string }>;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
  };
}

/** One of edgelb's own Pods (its namespace, its label selector): where it runs and whether it is Ready. */
export interface PodObj {
  metadata: ObjectMeta;
  spec?: { nodeName?: string };
  status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> };
}

export interface NamespaceObj {
  metadata: ObjectMeta;
}

export interface SecretObj {
  metadata: ObjectMeta;
  data?: Record<string, string>; // base64
  stringData?: Record<string, string>;
}

// ---- edgelb.io/v1alpha1 ----

export interface IPPoolObj {
  metadata: ObjectMeta;
  spec: {
    cidrs?: string[];
    ranges?: string[];
    avoidBuggyIPs?: boolean;
    autoAssign?: boolean;
    announce?: 'bgp' | 'l2' | 'both';
    bgpMode?: 'ecmp' | 'activeBackup';
    priority?: number;
    namespaces?: string[];
    namespaceSelector?: LabelSelector;
    serviceSelector?: LabelSelector;
  };
  status?: { assigned?: number; available?: string; conditions?: K8sCondition[] };
}

export interface BGPPeerObj {
  metadata: ObjectMeta;
  spec: {
    address: string;
    asn: number;
    port?: number;
    holdTime?: number;
    keepalive?: number;
    passwordSecretRef?: { name: string; key?: string };
    ebgpMultihop?: number;
    gtsm?: boolean;
    passive?: boolean;
    connectRetry?: number;
    localAddress?: string;
    nodeSelector?: LabelSelector;
    families?: Array<'ipv4' | 'ipv6'>;
    gracefulRestart?: { enabled?: boolean; restartTime?: number };
    /** Deprecated placeholder (MetalLB's name): ignored; use bfd. */
    bfdProfile?: string;
    /** BFD for this peer: intervals in milliseconds, Detect Mult, optional authentication key from a Secret. */
    bfd?: {
      minRx?: number;
      minTx?: number;
      multiplier?: number;
      auth?: { type: 'simple' | 'keyed-md5' | 'meticulous-keyed-md5' | 'keyed-sha1' | 'meticulous-keyed-sha1'; keyId: number; secretRef: { name: string; key?: string } };
    };
    exportPolicies?: string[];
    maxPrefixes?: number;
  };
  status?: { nodes?: BGPPeerNodeStatus[]; summary?: string; established?: string; conditions?: K8sCondition[] };
}

export interface BGPPeerNodeStatus {
  node: string;
  state: string;
  uptimeSeconds: number;
  prefixesSent: number;
  lastError?: string;
  updated: string;
}

export interface BGPPolicyObj {
  metadata: ObjectMeta;
  spec: {
    prefixSets?: Array<{ name: string; prefixes: Array<{ prefix: string; minLen?: number; maxLen?: number }> }>;
    communitySets?: Array<{ name: string; communities: string[] }>;
    statements?: Array<{
      name: string;
      match?: PolicyStatement['match'];
      actions?: PolicyStatement['actions'];
    }>;
    defaultResult?: 'accept' | 'reject';
    /** BGPPeer names this policy is applied to on export (besides each peer's exportPolicies). */
    peers?: string[];
  };
  status?: { conditions?: K8sCondition[] };
}

/** kube-loxilb's BGPPeerService (bgppeer.loxilb.io/v1), read so its users can move. */
export interface LoxiBGPPeerServiceObj {
  metadata: ObjectMeta;
  spec: { ipAddress: string; remoteAs: number; remotePort?: number };
}

/**
 * NodeReport (edgelb.io/v1alpha1, cluster-scoped, named after its node): what one node carries
 * now, written by that node's edgelb pod (server-side apply, only when it changes), read by the
 * writer of the Services' edgelb.io/Served condition.
 */
export interface NodeReportObj {
  metadata: ObjectMeta;
  status?: {
    node?: string;
    pod?: string;
    updated?: string;
    /** BGP peers configured on this node, and those whose session is Established. */
    peers?: string[];
    established?: string[];
    /** "1/2": Established sessions / peers (for kubectl get). */
    sessions?: string;
    /** VIPs sent to at least one Established session. */
    bgp?: string[];
    /** VIPs this node answers ARP/NDP for. */
    l2?: string[];
    /** "bgp 3, l2 1" (for kubectl get). */
    carrying?: string;
    /** VIPs this node is given but does not announce, with the reason (at most 1,000 listed). */
    withheld?: Array<{ vip: string; reason: string }>;
    withheldMore?: number;
  };
}
