// What the watch caches keep of each object: the fields edgelb reads (types.ts) and nothing else.
// An object from the API server carries far more than that: metadata.managedFields (one entry per
// field manager, often the largest part of a Service), kubectl's last-applied-configuration
// annotation (a copy of the whole object), a Node's image list and system info, a Pod's whole spec.
// Held for every object of the cluster, that was most of a controller's heap at 1,000 Services and
// what its garbage collector had to copy; the caches now hold a projection made as each object
// arrives (list and watch), so the full object dies young. Pure functions; a field read anywhere
// must be kept here (test/unit/k8s-slim.test.ts checks each field types.ts declares survives).
import type { KubernetesObject } from '@kubernetes/client-node';

type Obj = Record<string, unknown>;

/** kubectl apply's copy of the whole object: never read, often the largest annotation. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `keys` of `o` that are present (undefined when `o` is not an object). */
function pick(o: unknown, keys: readonly string[]): Obj | undefined {
  if (!isObj(o)) return undefined;
  const out: Obj = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** The object's metadata without managedFields, ownerReferences, finalizers and kubectl's copy. */
export function slimMeta(m: unknown): Obj {
  const out = pick(m, ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'labels', 'annotations']) ?? {};
  const ann = out.annotations;
  if (isObj(ann) && ann[LAST_APPLIED] !== undefined) {
    const rest = { ...ann };
    delete rest[LAST_APPLIED];
    out.annotations = rest;
  }
  return out;
}

/** Sets `key` on `out` when `v` is defined. */
function put(out: Obj, key: string, v: unknown): void {
  if (v !== undefined) out[key] = v;
}

const SERVICE_SPEC = ['type', 'loadBalancerClass', 'loadBalancerIP', 'ports', 'ipFamilies', 'ipFamilyPolicy', 'externalTrafficPolicy', 'clusterIP'] as const;

/** Service: metadata, the spec fields of ServiceObj, status (loadBalancer, conditions). */
export function slimService(o: Obj): Obj {
  const out: Obj = { metadata: slimMeta(o.metadata), spec: pick(o.spec, SERVICE_SPEC) ?? {} };
  put(out, 'status', pick(o.status, ['loadBalancer', 'conditions']));
  return out;
}

/** EndpointSlice: addressType, ports, and each endpoint's addresses, conditions and node. */
export function slimEndpointSlice(o: Obj): Obj {
  const out: Obj = { metadata: slimMeta(o.metadata) };
  put(out, 'addressType', o.addressType);
  if (Array.isArray(o.endpoints)) out.endpoints = o.endpoints.map((e) => pick(e, ['addresses', 'conditions', 'nodeName']) ?? e);
  put(out, 'ports', o.ports);
  return out;
}

/** Node: metadata (labels and annotations carry its edgelb settings), unschedulable, addresses and conditions. */
export function slimNode(o: Obj): Obj {
  const out: Obj = { metadata: slimMeta(o.metadata) };
  put(out, 'spec', pick(o.spec, ['unschedulable']));
  put(out, 'status', pick(o.status, ['addresses', 'conditions']));
  return out;
}

/** edgelb's own Pods: the node each runs on, its IP, whether it is Ready. */
export function slimPod(o: Obj): Obj {
  const out: Obj = { metadata: slimMeta(o.metadata) };
  put(out, 'spec', pick(o.spec, ['nodeName']));
  put(out, 'status', pick(o.status, ['podIP', 'conditions']));
  return out;
}

/** Secret: its data (BGP passwords and BFD keys are read from it). */
export function slimSecret(o: Obj): Obj {
  const out: Obj = { metadata: slimMeta(o.metadata) };
  put(out, 'data', o.data);
  put(out, 'stringData', o.stringData);
  return out;
}

/** Namespace: metadata only (its labels select IPPools). */
export function slimNamespace(o: Obj): Obj {
  return { metadata: slimMeta(o.metadata) };
}

/** edgelb.io and kube-loxilb objects: all of spec and status (every field is read), slim metadata. */
export function slimCustom(o: Obj): Obj {
  const out: Obj = { metadata: slimMeta(o.metadata) };
  put(out, 'spec', o.spec);
  put(out, 'status', o.status);
  return out;
}

/** Makes a projection safe for the cache: an object without metadata is passed through unchanged. */
export function slimmer(f: (o: Obj) => Obj): <T extends KubernetesObject>(o: T) => T {
  return <T extends KubernetesObject>(o: T): T => (isObj(o) && isObj(o.metadata) ? (f(o as unknown as Obj) as unknown as T) : o);
}
